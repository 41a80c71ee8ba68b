import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../src/client';
import { webhookEventSignal } from '../src/contract/messages';
import { workflowIds } from '../src/contract/workflow-ids';
import type { DomainEvent } from '../src/contract/events';
import { signWebhook } from '../src/events';
import { bearer, ops, useTestApi } from './api-helpers';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly event: DomainEvent;
  readonly answered: number;
}

/** A webhook receiver on loopback: records every request, and answers `fail` (500) to the first `failFirst`. */
class Receiver {
  readonly requests: Received[] = [];
  failFirst = 0;
  failAlways = false;
  private server!: Server;
  url = '';

  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const fail = this.failAlways || this.requests.length < this.failFirst;
        const answered = fail ? 500 : 204;
        this.requests.push({ headers: req.headers, body, event: JSON.parse(body) as DomainEvent, answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  delivered() {
    return this.requests.filter((r) => r.answered < 300);
  }

  stop() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function until<T>(what: string, read: () => Promise<T> | T, done: (value: T) => boolean, ms = 45_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('webhooks: signed, retried, in order per aggregate', () => {
  const api = useTestApi();
  const { inject } = api;
  const receiver = new Receiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  async function register(body: Record<string, unknown>, key?: string) {
    const res = await inject({
      method: 'POST',
      url: '/v1/ops/webhooks',
      headers: { ...ops, ...(key ? { 'idempotency-key': key } : {}) },
      payload: body,
    });
    return res;
  }

  const deliveriesOf = async (id: string) =>
    (await inject({ method: 'GET', url: `/v1/ops/webhooks/${id}/deliveries`, headers: ops })).json() as {
      deliveries: { eventId: string; status: string; attempts: number; lastError?: string }[];
    };

  it('refuses a bad endpoint with a 400 and registers nothing', async () => {
    const before = (await inject({ method: 'GET', url: '/v1/ops/webhooks', headers: ops })).json();
    for (const body of [
      { url: 'ftp://127.0.0.1/x', events: ['order.completed'] },
      { url: 'file:///etc/passwd', events: ['order.completed'] },
      { url: receiver.url, events: [] },
      { url: receiver.url, events: ['order.shipped'] },
      { url: receiver.url, events: ['*'], secret: 'short' },
      { url: receiver.url, events: ['*'], maxAgeSeconds: 1 },
    ]) {
      const res = await register(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_request' });
    }
    const unauthorized = await inject({ method: 'POST', url: '/v1/ops/webhooks', payload: { url: receiver.url } });
    expect(unauthorized.statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/v1/ops/webhooks', headers: ops })).json()).toEqual(before);
  });

  it("delivers a SKU's events in order, signed, after the receiver failed three times", async () => {
    receiver.failFirst = 3;
    const created = await register(
      { url: receiver.url, events: ['stock.low', 'reorder.requested', 'reorder.approved'] },
      'reorders-hook',
    );
    expect(created.statusCode, created.body).toBe(201);
    const endpoint = created.json() as { id: string; secret: string };
    expect(endpoint.secret).toMatch(/^whsec_/);
    // The same key again is the same endpoint; with another body it is refused.
    const again = await register(
      { url: receiver.url, events: ['stock.low', 'reorder.requested', 'reorder.approved'] },
      'reorders-hook',
    );
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: endpoint.id, secret: endpoint.secret });
    expect((await register({ url: receiver.url, events: ['*'] }, 'reorders-hook')).statusCode).toBe(422);

    // Taking 2 of 6 leaves 4, below the threshold of 5: stock.low and reorder.requested; then ops approve.
    const sku = await api.createProduct({ quantity: 6, lowStockThreshold: 5, reorderQuantity: 10 });
    const cart = (await inject({ method: 'POST', url: '/v1/carts' })).json() as { cartId: string; token: string };
    const added = await inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': 'low' },
      payload: { sku, quantity: 2 },
    });
    expect(added.statusCode, added.body).toBe(201);
    await until(
      'the reorder to wait for approval',
      () =>
        inject({ method: 'GET', url: '/v1/reorders', headers: ops }).then(
          (r) => r.json() as { reorders: { sku: string }[] },
        ),
      (r) => r.reorders.some((o) => o.sku === sku),
    );
    const approved = await inject({ method: 'POST', url: `/v1/reorders/${sku}/approve`, headers: ops, payload: {} });
    expect(approved.statusCode, approved.body).toBe(200);

    const mine = () => receiver.delivered().filter((r) => r.event.aggregate.id === sku);
    await until('three events delivered', mine, (d) => d.length >= 3);
    expect(mine().map((r) => r.event.type)).toEqual(['stock.low', 'reorder.requested', 'reorder.approved']);
    // The three refusals were all of the first event: the others waited behind it, in order.
    expect(receiver.requests.slice(0, 4).map((r) => [r.event.type, r.answered])).toEqual([
      ['stock.low', 500],
      ['stock.low', 500],
      ['stock.low', 500],
      ['stock.low', 204],
    ]);
    for (const r of mine()) {
      const header = r.headers['holdfast-signature'] as string;
      expect(r.headers['holdfast-event-id']).toBe(r.event.id);
      expect(await verifyWebhookSignature({ secret: endpoint.secret, header, body: r.body })).toBe(true);
      // A changed body, another secret or an old signature does not verify.
      expect(await verifyWebhookSignature({ secret: endpoint.secret, header, body: r.body + ' ' })).toBe(false);
      expect(await verifyWebhookSignature({ secret: 'whsec_another-secret', header, body: r.body })).toBe(false);
      const now = Number(/t=(\d+)/.exec(header)![1]) + 301;
      expect(await verifyWebhookSignature({ secret: endpoint.secret, header, body: r.body, now })).toBe(false);
    }
    const { deliveries } = await deliveriesOf(endpoint.id);
    const low = deliveries.find((d) => d.eventId === mine()[0]!.event.id);
    expect(low).toMatchObject({ status: 'delivered', attempts: 4 });

    // The same event signalled again (a step retried after it had handed the event on) is not sent again.
    const handle = api.client.workflow.getHandle(workflowIds.webhooks(endpoint.id));
    await handle.signal(webhookEventSignal, { event: mine()[0]!.event });
    await new Promise((r) => setTimeout(r, 1500));
    expect(mine()).toHaveLength(3);
    await inject({ method: 'DELETE', url: `/v1/ops/webhooks/${endpoint.id}`, headers: ops });
    receiver.failFirst = 0;
  }, 120_000);

  it('tells a completed order, and gives up on an endpoint that keeps failing until ops redeliver', async () => {
    const sink = await register({ url: receiver.url, events: ['order.completed'], maxAgeSeconds: 5 });
    expect(sink.statusCode, sink.body).toBe(201);
    const endpoint = sink.json() as { id: string; secret: string };
    receiver.failAlways = true;

    const sku = await api.createProduct({ quantity: 3, priceCents: 700 });
    const cart = (await inject({ method: 'POST', url: '/v1/carts' })).json() as { cartId: string; token: string };
    const added = await inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': 'buy' },
      payload: { sku, quantity: 2 },
    });
    expect(added.statusCode, added.body).toBe(201);
    const checkout = await inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/checkout`,
      headers: { ...bearer(cart.token), 'idempotency-key': 'pay' },
      payload: { paymentToken: 'tok_visa' },
    });
    expect(checkout.statusCode, checkout.body).toBe(202);
    const { orderId } = checkout.json() as { orderId: string };
    await api.client.workflow.getHandle(workflowIds.checkout(cart.cartId)).result();

    const eventId = `evt:order.completed:${orderId}`;
    const failed = await until(
      'the delivery to be given up',
      () => deliveriesOf(endpoint.id),
      (d) => d.deliveries.some((x) => x.eventId === eventId && x.status === 'failed'),
    );
    const record = failed.deliveries.find((x) => x.eventId === eventId)!;
    expect(record.attempts).toBeGreaterThanOrEqual(2);
    expect(record.lastError).toMatch(/500|time/i);

    receiver.failAlways = false;
    const redeliver = await inject({
      method: 'POST',
      url: `/v1/ops/webhooks/${endpoint.id}/deliveries/${eventId}/redeliver`,
      headers: ops,
    });
    expect(redeliver.statusCode, redeliver.body).toBe(202);
    await until(
      'the redelivery',
      () => deliveriesOf(endpoint.id),
      (d) => d.deliveries.some((x) => x.eventId === eventId && x.status === 'delivered'),
    );
    const got = receiver.delivered().filter((r) => r.event.id === eventId);
    expect(got).toHaveLength(1);
    expect(got[0]!.event).toMatchObject({
      type: 'order.completed',
      aggregate: { kind: 'order', id: orderId },
      data: { orderId, status: 'completed', totalCents: 1400, lines: [{ sku, quantity: 2, unitPriceCents: 700 }] },
    });
    expect(
      await verifyWebhookSignature({
        secret: endpoint.secret,
        header: got[0]!.headers['holdfast-signature'] as string,
        body: got[0]!.body,
      }),
    ).toBe(true);
    const events = (
      await inject({ method: 'GET', url: '/v1/ops/events?type=order.completed', headers: ops })
    ).json() as {
      events: { id: string }[];
    };
    expect(events.events.map((e) => e.id)).toContain(eventId);
    const unknown = await inject({
      method: 'POST',
      url: `/v1/ops/webhooks/${endpoint.id}/deliveries/evt:order.completed:nope/redeliver`,
      headers: ops,
    });
    expect(unknown.statusCode).toBe(404);
  }, 120_000);

  it('signs as the documented verifier checks', async () => {
    const body = JSON.stringify({ id: 'evt:x', n: 1 });
    const header = signWebhook('whsec_0123456789abcdef', body, 1_700_000_000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    const verify = (h: string | undefined, now = 1_700_000_100) =>
      verifyWebhookSignature({ secret: 'whsec_0123456789abcdef', header: h, body, now });
    expect(await verify(header)).toBe(true);
    expect(await verify(`${header},v1=${'0'.repeat(64)}`)).toBe(true); // one of several signatures
    expect(await verify(header, 1_700_000_301)).toBe(false);
    expect(await verify(undefined)).toBe(false);
    expect(await verify('t=abc,v1=00')).toBe(false);
    expect(await verify(header.replace(/v1=./, 'v1=x'))).toBe(false);
  });
});
