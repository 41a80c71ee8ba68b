import { describe, expect, it } from 'vitest';
import { keyDigest } from '../src/api/idempotency';
import { collections } from '../src/db';
import { workflowIds } from '../src/contract/workflow-ids';
import { expectCleanLedger, uniqueId } from './helpers';
import { bearer, ops, useTestApi } from './api-helpers';
import { addToCart } from './workflow-helpers';

describe('HTTP API (app.inject, real Temporal and FerretDB)', () => {
  const api = useTestApi();
  const { inject } = api;
  /** Ops headers for a write: restocks and moves need an Idempotency-Key. */
  const opsWrite = () => ({ ...ops, 'idempotency-key': uniqueId('ops') });

  const { createProduct } = api;

  async function createCart() {
    const res = await inject({ method: 'POST', url: '/v1/carts' });
    expect(res.statusCode).toBe(201);
    return res.json() as { cartId: string; token: string };
  }

  async function addItem(cart: { cartId: string; token: string }, payload: unknown, key = uniqueId('key')) {
    return inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': key },
      payload: payload as Record<string, unknown>,
    });
  }

  describe('shopper flow', () => {
    it('adds, reads, changes, removes and checks out, with live availability', async () => {
      const sku = await createProduct();
      const cart = await createCart();
      const added = await addItem(cart, { sku, quantity: 2 });
      expect(added.statusCode).toBe(201);
      const hold = added.json();
      expect(hold).toMatchObject({ status: 'held', quantity: 2 });
      expect(Date.parse(hold.expiresAt)).toBeGreaterThan(Date.now());

      const product = await inject({ method: 'GET', url: `/v1/products/${sku}` });
      expect(product.json()).toMatchObject({
        sku,
        available: 3,
        reserved: 2,
        sold: 0,
        backordered: 0,
        policy: 'strict',
      });
      expect(
        (await inject({ method: 'GET', url: '/v1/products' })).json().products.map((p: { sku: string }) => p.sku),
      ).toContain(sku);

      const changed = await inject({
        method: 'PATCH',
        url: `/v1/carts/${cart.cartId}/items/${hold.holdId}`,
        headers: bearer(cart.token),
        payload: { quantity: 3 },
      });
      expect(changed.json()).toMatchObject({ status: 'held', quantity: 3 });
      const tooMany = await inject({
        method: 'PATCH',
        url: `/v1/carts/${cart.cartId}/items/${hold.holdId}`,
        headers: bearer(cart.token),
        payload: { quantity: 50 },
      });
      expect(tooMany.statusCode).toBe(409);
      expect(tooMany.json().error).toBe('out_of_stock');

      const second = (await addItem(cart, { sku, quantity: 1 })).json();
      const removed = await inject({
        method: 'DELETE',
        url: `/v1/carts/${cart.cartId}/items/${second.holdId}`,
        headers: bearer(cart.token),
      });
      expect(removed.json()).toMatchObject({ holdId: second.holdId, status: 'removed' });
      // DELETE is idempotent.
      await api.client.workflow.getHandle(workflowIds.hold(second.holdId)).result();
      const again = await inject({
        method: 'DELETE',
        url: `/v1/carts/${cart.cartId}/items/${second.holdId}`,
        headers: bearer(cart.token),
      });
      expect(again.json()).toMatchObject({ holdId: second.holdId, status: 'removed' });

      const read = await inject({ method: 'GET', url: `/v1/carts/${cart.cartId}`, headers: bearer(cart.token) });
      expect(
        read
          .json()
          .lines.map((l: { status: string }) => l.status)
          .sort(),
      ).toEqual(['pending', 'removed']);

      const checkout = await inject({
        method: 'POST',
        url: `/v1/carts/${cart.cartId}/checkout`,
        headers: { ...bearer(cart.token), 'idempotency-key': 'pay-1' },
        payload: { paymentToken: 'tok_visa' },
      });
      expect(checkout.statusCode).toBe(202);
      const { orderId } = checkout.json();
      await api.client.workflow.getHandle(workflowIds.checkout(cart.cartId)).result();
      const order = await inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: bearer(cart.token) });
      expect(order.json()).toMatchObject({ orderId, status: 'completed', totalCents: 4500 });
      expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json()).toMatchObject({
        sold: 3,
        reserved: 0,
      });
      await expectCleanLedger(api.worker.stock, api.shards, sku);
    });

    it('answers 409 out_of_stock for a strict product, and backorders a backorder product', async () => {
      const strict = await createProduct({ quantity: 1 });
      const backorder = await createProduct({ quantity: 0, policy: 'backorder' });
      const cart = await createCart();
      const refused = await addItem(cart, { sku: strict, quantity: 2 });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ error: 'out_of_stock' });
      const waiting = await addItem(cart, { sku: backorder, quantity: 2 });
      expect(waiting.statusCode).toBe(201);
      expect(waiting.json()).toMatchObject({ status: 'backordered', quantity: 2 });
    });

    it('returns 404 for an unknown SKU and changes nothing', async () => {
      const cart = await createCart();
      const res = await addItem(cart, { sku: 'no-such-sku', quantity: 1 });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'unknown_product' });
      const read = await inject({ method: 'GET', url: `/v1/carts/${cart.cartId}`, headers: bearer(cart.token) });
      expect(read.json().lines).toEqual([]);
    });
  });

  describe('idempotency keys', () => {
    it('replays the first response for the same key and body, and refuses another body with 422', async () => {
      const sku = await createProduct({ quantity: 3 });
      const cart = await createCart();
      const first = await addItem(cart, { sku, quantity: 1 }, 'k1');
      const replay = await addItem(cart, { sku, quantity: 1 }, 'k1');
      expect(replay.statusCode).toBe(first.statusCode);
      expect(replay.json()).toEqual(first.json());
      expect(replay.headers['idempotent-replayed']).toBe('true');
      const conflict = await addItem(cart, { sku, quantity: 2 }, 'k1');
      expect(conflict.statusCode).toBe(422);
      expect(conflict.json().error).toBe('idempotency_key_reused');
      expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json().reserved).toBe(1);

      const pay = (key: string, token: string) =>
        inject({
          method: 'POST',
          url: `/v1/carts/${cart.cartId}/checkout`,
          headers: { ...bearer(cart.token), 'idempotency-key': key },
          payload: { paymentToken: token },
        });
      const a = await pay('p1', 'tok_visa');
      expect((await pay('p1', 'tok_visa')).json()).toEqual(a.json());
      expect((await pay('p1', 'tok_chargeDeclined')).statusCode).toBe(422);
    });

    it('never starts a second line for a key whose line has ended, even when its answer was lost', async () => {
      const sku = await createProduct({ quantity: 1 });
      const cart = await createCart();
      const held = await addItem(cart, { sku, quantity: 1 }, 'first');
      expect(held.statusCode).toBe(201);
      // The key's line is refused by its workflow (the API refuses a sold-out SKU without one, so the line is
      // started the way an API that crashed after starting it left it).
      const lostId = `${cart.cartId}.${keyDigest(cart.cartId, 'lost')}`;
      const refused = await addToCart(api.client, api.worker.taskQueue, {
        holdId: lostId,
        cartId: cart.cartId,
        sku,
        quantity: 1,
      });
      expect(refused.status).toBe('out_of_stock');
      await api.client.workflow.getHandle(workflowIds.hold(lostId)).result();
      const removed = await inject({
        method: 'DELETE',
        url: `/v1/carts/${cart.cartId}/items/${held.json().holdId}`,
        headers: bearer(cart.token),
      });
      expect(removed.statusCode).toBe(200);
      // As if the API crashed before recording the refusal. The unit is free again, but the key's line ended.
      await api.shards
        .cartsDb(api.shards.shardFor(`items:${cart.cartId}:lost`))
        .collection(collections.carts.idempotency)
        .deleteOne({ _id: `items:${cart.cartId}:lost` as never });
      // The ended run answers what the first request was told: refused. Nothing is reserved again.
      const retry = await addItem(cart, { sku, quantity: 1 }, 'lost');
      expect(retry.statusCode).toBe(409);
      expect(retry.json().error).toBe('out_of_stock');
      expect((await addItem(cart, { sku, quantity: 1 }, 'lost')).headers['idempotent-replayed']).toBe('true');
      expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json().reserved).toBe(0);
    });
  });

  describe('auth', () => {
    it("401 without a token, 403 with another cart's token, ops routes refuse shopper tokens", async () => {
      const sku = await createProduct();
      const mine = await createCart();
      const theirs = await createCart();
      const noToken = await inject({ method: 'GET', url: `/v1/carts/${mine.cartId}` });
      expect(noToken.statusCode).toBe(401);
      expect(noToken.json()).toMatchObject({ error: 'unauthorized' });
      const badToken = await inject({
        method: 'GET',
        url: `/v1/carts/${mine.cartId}`,
        headers: bearer(`${mine.cartId}.forged`),
      });
      expect(badToken.statusCode).toBe(401);
      const foreign = await inject({ method: 'GET', url: `/v1/carts/${mine.cartId}`, headers: bearer(theirs.token) });
      expect(foreign.statusCode).toBe(403);
      const foreignAdd = await inject({
        method: 'POST',
        url: `/v1/carts/${mine.cartId}/items`,
        headers: { ...bearer(theirs.token), 'idempotency-key': 'x' },
        payload: { sku, quantity: 1 },
      });
      expect(foreignAdd.statusCode).toBe(403);
      expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json().reserved).toBe(0);

      const shopperAsOps = await inject({
        method: 'POST',
        url: `/v1/products/${sku}/restock`,
        headers: bearer(mine.token),
        payload: { quantity: 5 },
      });
      expect(shopperAsOps.statusCode).toBe(403);
      expect((await inject({ method: 'POST', url: '/v1/products', payload: {} })).statusCode).toBe(401);
    });

    it('an order is visible only with its own cart token', async () => {
      const sku = await createProduct();
      const cart = await createCart();
      const other = await createCart();
      await addItem(cart, { sku, quantity: 1 });
      const { orderId } = (
        await inject({
          method: 'POST',
          url: `/v1/carts/${cart.cartId}/checkout`,
          headers: { ...bearer(cart.token), 'idempotency-key': 'o' },
          payload: { paymentToken: 'tok_chargeDeclined' },
        })
      ).json();
      await api.client.workflow
        .getHandle(workflowIds.checkout(cart.cartId))
        .result()
        .catch(() => undefined);
      const own = await inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: bearer(cart.token) });
      expect(own.json()).toMatchObject({ status: 'failed', reason: 'the card was declined' });
      expect(
        (await inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: bearer(other.token) })).statusCode,
      ).toBe(403);
      expect((await inject({ method: 'GET', url: `/v1/orders/nope`, headers: bearer(cart.token) })).statusCode).toBe(
        404,
      );
    });
  });

  describe('bad input: a clear 400 and nothing changes', () => {
    it.each([
      ['unknown field', { sku: 'x', quantity: 1, extra: true }],
      ['quantity as a string', { sku: 'x', quantity: '1' }],
      ['zero quantity', { sku: 'x', quantity: 0 }],
      ['negative quantity', { sku: 'x', quantity: -3 }],
      ['quantity over the bound', { sku: 'x', quantity: 101 }],
      ['fractional quantity', { sku: 'x', quantity: 1.5 }],
      ['missing sku', { quantity: 1 }],
      ['overlong sku', { sku: 'x'.repeat(300), quantity: 1 }],
    ] as [string, Record<string, unknown>][])('%s', async (_name, payload) => {
      const sku = await createProduct();
      const cart = await createCart();
      const res = await addItem(cart, { ...payload, ...(payload.sku === 'x' ? { sku } : {}) });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_request' });
      expect(res.json().message).toEqual(expect.any(String));
      expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json().reserved).toBe(0);
    });

    it('malformed JSON, a missing Idempotency-Key and an oversized body are 4xx', async () => {
      const cart = await createCart();
      const malformed = await inject({
        method: 'POST',
        url: `/v1/carts/${cart.cartId}/items`,
        headers: { ...bearer(cart.token), 'idempotency-key': 'm', 'content-type': 'application/json' },
        payload: '{"sku": ',
      });
      expect(malformed.statusCode).toBe(400);
      const noKey = await inject({
        method: 'POST',
        url: `/v1/carts/${cart.cartId}/items`,
        headers: bearer(cart.token),
        payload: { sku: 'a', quantity: 1 },
      });
      expect(noKey.statusCode).toBe(400);
      const huge = await inject({
        method: 'POST',
        url: '/v1/products',
        headers: { ...ops, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'x'.repeat(100_000) }),
      });
      expect(huge.statusCode).toBe(413);
      expect(huge.json().error).toBe('payload_too_large');
    });
  });

  describe('ops routes', () => {
    it('restocks, moves units between states, and checks invariants', async () => {
      const sku = await createProduct({ quantity: 4 });
      expect(
        (
          await inject({
            method: 'POST',
            url: `/v1/products/${sku}/restock`,
            headers: opsWrite(),
            payload: { quantity: 6 },
          })
        ).statusCode,
      ).toBe(202);
      const move = await inject({
        method: 'POST',
        url: `/v1/products/${sku}/moves`,
        headers: opsWrite(),
        payload: { quantity: 2, from: 'available', to: 'damaged' },
      });
      expect(move.statusCode).toBe(200);
      expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json()).toMatchObject({
        available: 8,
        nonSellable: { damaged: 2 },
      });
      const tooMany = await inject({
        method: 'POST',
        url: `/v1/products/${sku}/moves`,
        headers: opsWrite(),
        payload: { quantity: 5, from: 'damaged', to: 'available' },
      });
      expect(tooMany.statusCode).toBe(409);
      const report = await inject({ method: 'GET', url: `/v1/ops/invariants/${sku}`, headers: ops });
      expect(report.json()).toMatchObject({ ok: true, violations: [] });
      const dup = await inject({
        method: 'POST',
        url: '/v1/products',
        headers: ops,
        payload: { sku, name: 'other', priceCents: 1, quantity: 1, policy: 'strict' },
      });
      expect(dup.statusCode).toBe(409);
    });

    it('lists and reprioritises backorders, then a restock fills them', async () => {
      const sku = await createProduct({ quantity: 0, policy: 'backorder' });
      const cart = await createCart();
      const a = (await addItem(cart, { sku, quantity: 1 })).json();
      const b = (await addItem(cart, { sku, quantity: 1 })).json();
      const listed = async () =>
        (await inject({ method: 'GET', url: `/v1/products/${sku}/backorders`, headers: ops }))
          .json()
          .waiting.map((e: { holdId: string }) => e.holdId);
      await expect.poll(listed).toEqual([a.holdId, b.holdId]);
      const moved = await inject({
        method: 'POST',
        url: `/v1/products/${sku}/backorders/${b.holdId}/position`,
        headers: ops,
        payload: { position: 0 },
      });
      expect(moved.statusCode).toBe(200);
      await expect.poll(listed).toEqual([b.holdId, a.holdId]);
      await inject({
        method: 'POST',
        url: `/v1/products/${sku}/restock`,
        headers: opsWrite(),
        payload: { quantity: 1 },
      });
      await expect.poll(listed).toEqual([a.holdId]);
      const lines = async () =>
        (await inject({ method: 'GET', url: `/v1/carts/${cart.cartId}`, headers: bearer(cart.token) })).json().lines;
      await expect
        .poll(async () => (await lines()).find((l: { holdId: string }) => l.holdId === b.holdId)?.status)
        .toBe('pending');
      const cancelled = await inject({
        method: 'DELETE',
        url: `/v1/products/${sku}/backorders/${a.holdId}`,
        headers: ops,
      });
      expect(cancelled.json()).toMatchObject({ status: 'removed' });
    });

    it('lists a reorder awaiting approval and approves, receives or rejects it', async () => {
      const sku = await createProduct({ quantity: 3, lowStockThreshold: 3, reorderQuantity: 10 });
      const cart = await createCart();
      await addItem(cart, { sku, quantity: 1 });
      const reorders = async () => (await inject({ method: 'GET', url: '/v1/reorders', headers: ops })).json().reorders;
      await expect
        .poll(async () => (await reorders()).find((r: { sku: string }) => r.sku === sku)?.status)
        .toBe('awaiting_approval');
      const open = (await reorders()).find((r: { sku: string }) => r.sku === sku);
      expect(open.runUrl).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/reorder-${sku}`);
      const approved = await inject({ method: 'POST', url: `/v1/reorders/${sku}/approve`, headers: ops, payload: {} });
      expect(approved.json()).toMatchObject({ status: 'approved', quantity: 10 });
      await inject({ method: 'POST', url: `/v1/reorders/${sku}/receive`, headers: ops, payload: {} });
      await expect
        .poll(async () => (await inject({ method: 'GET', url: `/v1/products/${sku}` })).json().available)
        .toBe(12);
      expect(
        (await inject({ method: 'POST', url: `/v1/reorders/nope/reject`, headers: ops, payload: {} })).statusCode,
      ).toBe(404);
    });

    it('gives an overview with links to runs, health, metrics and the OpenAPI document', async () => {
      const overview = await inject({ method: 'GET', url: '/v1/ops/overview', headers: ops });
      expect(overview.statusCode).toBe(200);
      expect(overview.json().temporalUiUrl).toBe('http://127.0.0.1:8233');
      expect((await inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      const metrics = await inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toContain('holdfast_holds_total');
      expect(metrics.body).toContain('holdfast_http_request_duration_seconds_bucket');
      const docs = await inject({ method: 'GET', url: '/docs/json' });
      expect(Object.keys(docs.json().paths)).toEqual(
        expect.arrayContaining(['/v1/carts/{cartId}/items', '/v1/orders/{orderId}']),
      );
    });
  });
});

describe('rate limits', () => {
  const api = useTestApi({ rateLimitCartPerMinute: 3, rateLimitIpPerMinute: 8 });

  it('429 past the per-cart and per-IP limits', async () => {
    const { cartId, token } = (await api.app.inject({ method: 'POST', url: '/v1/carts' })).json();
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      codes.push(
        (await api.app.inject({ method: 'GET', url: `/v1/carts/${cartId}`, headers: bearer(token) })).statusCode,
      );
    }
    expect(codes).toEqual([200, 200, 200, 429]);
    // Per IP: 8 a minute over every route.
    const perIp: number[] = [];
    for (let i = 0; i < 9; i++) perIp.push((await api.app.inject({ method: 'GET', url: '/health' })).statusCode);
    expect(perIp).toContain(429);
    expect(perIp.filter((c) => c === 200).length).toBeLessThanOrEqual(8);
    const limited = await api.app.inject({ method: 'GET', url: '/health' });
    expect(limited.json()).toEqual({
      error: 'rate_limited',
      message: expect.any(String),
      requestId: expect.any(String),
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The liveness probe is never limited: shoppers behind one address must not get the process restarted.
    expect((await api.app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
  });
});
