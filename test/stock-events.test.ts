import { describe, expect, it } from 'vitest';
import { collections } from '../src/db';
import { eventId, type DomainEvent, type EventType } from '../src/contract/events';
import { EventStore } from '../src/events';
import { checkSystem } from '../src/ops/check-system';
import { uniqueId } from './helpers';
import { bearer, ops, useTestApi } from './api-helpers';

describe('waitlist over HTTP, and the events of stock running out and coming back (dev server)', () => {
  const api = useTestApi();
  const { inject } = api;
  const events = () => new EventStore(api.shards);

  async function createCart() {
    const res = await inject({ method: 'POST', url: '/v1/carts' });
    expect(res.statusCode).toBe(201);
    return res.json() as { cartId: string; token: string };
  }

  const addItem = (cart: { cartId: string; token: string }, payload: Record<string, unknown>) =>
    inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': uniqueId('key') },
      payload,
    });

  const restock = (sku: string, quantity: number, key = uniqueId('restock')) =>
    inject({
      method: 'POST',
      url: `/v1/products/${sku}/restock`,
      headers: { ...ops, 'idempotency-key': key },
      payload: { quantity },
    });

  /** Ops move one unit of a SKU from one state to another. */
  const moveOne = (sku: string, from: string, to: string) =>
    inject({
      method: 'POST',
      url: `/v1/products/${sku}/moves`,
      headers: { ...ops, 'idempotency-key': uniqueId('move') },
      payload: { quantity: 1, from, to },
    });

  async function waitFor<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const got = await get();
      if (got !== undefined) return got;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`not reached: ${what}`);
  }

  /** The SKU's events of some types, oldest first. */
  async function eventsOf(sku: string, ...types: EventType[]): Promise<DomainEvent[]> {
    const all = await api.shards.scan<DomainEvent>('carts', collections.carts.events, { type: { $in: types } });
    return all.filter((e) => e.data.sku === sku).sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
  }

  it('records stock.sold_out and stock.back_in_stock once per episode, a retried restock adding none', async () => {
    const sku = await api.createProduct({ quantity: 2 });
    const cart = await createCart();
    expect((await addItem(cart, { sku, quantity: 2 })).statusCode).toBe(201);
    // Recorded in the step that took the last units, before the shopper's answer.
    expect(await events().get(eventId('stock.sold_out', `${sku}:0`))).toMatchObject({ data: { sku } });

    const key = uniqueId('restock');
    expect((await restock(sku, 3, key)).statusCode).toBe(202);
    await waitFor('back in stock', () => events().get(eventId('stock.back_in_stock', `${sku}:0`)));
    expect((await restock(sku, 3, key)).headers['idempotent-replayed']).toBe('true');
    // A restock onto a SKU that is not sold out is no news.
    expect((await restock(sku, 1)).statusCode).toBe(202);
    expect((await addItem(cart, { sku, quantity: 4 })).statusCode).toBe(201);
    expect(await events().get(eventId('stock.sold_out', `${sku}:1`))).toBeDefined();
    await new Promise((r) => setTimeout(r, 500));
    expect((await eventsOf(sku, 'stock.sold_out', 'stock.back_in_stock')).map((e) => e.id)).toEqual([
      eventId('stock.sold_out', `${sku}:0`),
      eventId('stock.back_in_stock', `${sku}:0`),
      eventId('stock.sold_out', `${sku}:1`),
    ]);
  });

  it('a plain strict SKU comes back in stock by a release and an ops move, and sells out by a move, each episode recorded', async () => {
    const sku = await api.createProduct({ quantity: 3, buckets: 2 });
    const move = (from: string, to: string) => moveOne(sku, from, to);
    expect((await move('available', 'repair')).statusCode).toBe(200);
    const cart = await createCart();
    const first = (await addItem(cart, { sku, quantity: 1 })).json() as { holdId: string };
    expect((await addItem(cart, { sku, quantity: 1 })).statusCode).toBe(201);
    expect(await events().get(eventId('stock.sold_out', `${sku}:0`))).toBeDefined();
    // A removal puts its unit back on sale: the episode ends.
    const removed = await inject({
      method: 'DELETE',
      url: `/v1/carts/${cart.cartId}/items/${first.holdId}`,
      headers: bearer(cart.token),
    });
    expect(removed.statusCode).toBe(200);
    expect(await events().get(eventId('stock.back_in_stock', `${sku}:0`))).toBeDefined();
    expect((await addItem(cart, { sku, quantity: 1 })).statusCode).toBe(201);
    expect(await events().get(eventId('stock.sold_out', `${sku}:1`))).toBeDefined();
    // A unit ops move back on sale ends it too (recorded by the poked queue's pass).
    expect((await move('repair', 'available')).statusCode).toBe(200);
    await waitFor('back in stock', () => events().get(eventId('stock.back_in_stock', `${sku}:1`)));
    expect((await addItem(cart, { sku, quantity: 1 })).statusCode).toBe(201);
    expect(await events().get(eventId('stock.sold_out', `${sku}:2`))).toBeDefined();
    // Ops take the last unit off sale: that sells the SKU out too (recorded by the poked queue's pass), once.
    expect((await restock(sku, 1)).statusCode).toBe(202);
    await waitFor('back in stock', () => events().get(eventId('stock.back_in_stock', `${sku}:2`)));
    expect((await move('available', 'damaged')).statusCode).toBe(200);
    await waitFor('sold out by a move', () => events().get(eventId('stock.sold_out', `${sku}:3`)));
    await new Promise((r) => setTimeout(r, 500));
    expect(await events().get(eventId('stock.back_in_stock', `${sku}:3`))).toBeUndefined();
  });

  it('notify me: a sold-out product with a waitlist takes the shopper, and a restock offers them a timed hold', async () => {
    const sku = await api.createProduct({ quantity: 0, offerSeconds: 300 });
    const product = await inject({ method: 'GET', url: `/v1/products/${sku}` });
    expect(product.json()).toMatchObject({ available: 0, offerSeconds: 300, waitlisted: 0 });
    const cart = await createCart();
    // Without waitlist: refused as any sold-out strict SKU.
    expect((await addItem(cart, { sku, quantity: 1 })).json()).toMatchObject({ error: 'out_of_stock' });
    const joined = await addItem(cart, { sku, quantity: 1, waitlist: true });
    expect(joined.statusCode).toBe(201);
    const { holdId } = joined.json() as { holdId: string };
    expect(joined.json()).toMatchObject({ status: 'waitlisted', quantity: 1 });
    const lineOf = async () => {
      const res = await inject({ method: 'GET', url: `/v1/carts/${cart.cartId}`, headers: bearer(cart.token) });
      return (
        res.json() as { lines: { holdId: string; status: string; offeredAt?: string; expiresAt?: string }[] }
      ).lines.find((l) => l.holdId === holdId)!;
    };
    expect(await lineOf()).toMatchObject({ status: 'waitlisted', joinedAt: expect.any(String) });
    await waitFor('the waitlist counted', async () => {
      const p = (await inject({ method: 'GET', url: `/v1/products/${sku}` })).json() as { waitlisted: number };
      return p.waitlisted === 1 ? true : undefined;
    });
    expect(await events().get(eventId('waitlist.joined', holdId))).toBeDefined();

    expect((await restock(sku, 1)).statusCode).toBe(202);
    const offered = await waitFor('the offer', async () => {
      const l = await lineOf();
      return l.status === 'pending' ? l : undefined;
    });
    expect(Date.parse(offered.expiresAt!) - Date.parse(offered.offeredAt!)).toBe(300_000);
    // The line shows the offer as soon as its run does; the event comes with the step that saves it.
    expect(await waitFor('the offer event', () => events().get(eventId('waitlist.offered', holdId)))).toMatchObject({
      data: { holdId, sku, quantity: 1, expiresAt: offered.expiresAt },
    });
    // The unit was the waiter's, never on sale: no back_in_stock.
    expect(await eventsOf(sku, 'stock.back_in_stock')).toEqual([]);
    const checkout = await inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/checkout`,
      headers: { ...bearer(cart.token), 'idempotency-key': uniqueId('co') },
      payload: { paymentToken: 'tok_visa' },
    });
    expect(checkout.statusCode, checkout.body).toBeLessThan(300);
  });

  it('a waitlist takes only a sold-out SKU’s shoppers, and a big request does not keep the units from a smaller one', async () => {
    // Units on sale, fewer than asked: refused with what there is, as any line; nothing is taken off sale.
    const onSale = await api.createProduct({ quantity: 1, offerSeconds: 300 });
    const refused = await addItem(await createCart(), { sku: onSale, quantity: 2, waitlist: true });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'out_of_stock', available: 1 });
    expect((await inject({ method: 'GET', url: `/v1/products/${onSale}` })).json()).toMatchObject({
      available: 1,
      waitlisted: 0,
    });

    const sku = await api.createProduct({ quantity: 0, offerSeconds: 300 });
    const big = await createCart();
    const small = await createCart();
    const bigLine = (await addItem(big, { sku, quantity: 3, waitlist: true })).json() as { holdId: string };
    const smallLine = (await addItem(small, { sku, quantity: 1, waitlist: true })).json() as { holdId: string };
    expect((await restock(sku, 2)).statusCode).toBe(202);
    // The head asks for 3 of the 2 that came: the next in join order that fits is offered.
    await waitFor('the offer to the smaller request', () =>
      events().get(eventId('waitlist.offered', smallLine.holdId)),
    );
    const lines = await inject({ method: 'GET', url: `/v1/carts/${big.cartId}`, headers: bearer(big.token) });
    expect((lines.json() as { lines: { holdId: string; status: string }[] }).lines).toMatchObject([
      { holdId: bigLine.holdId, status: 'waitlisted' },
    ]);
    expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json()).toMatchObject({ available: 0 });
  });

  it('units ops move back on sale go to the waitlist first', async () => {
    const sku = await api.createProduct({ quantity: 1, offerSeconds: 300 });
    const move = (from: string, to: string) => moveOne(sku, from, to);
    expect((await move('available', 'repair')).statusCode).toBe(200);
    const cart = await createCart();
    const joined = await addItem(cart, { sku, quantity: 1, waitlist: true });
    expect(joined.json()).toMatchObject({ status: 'waitlisted' });
    expect((await move('repair', 'available')).statusCode).toBe(200);
    const { holdId } = joined.json() as { holdId: string };
    await waitFor('the offer', () => events().get(eventId('waitlist.offered', holdId)));
    const product = (await inject({ method: 'GET', url: `/v1/products/${sku}` })).json() as Record<string, unknown>;
    expect(product).toMatchObject({ available: 0, reserved: 1, waitlisted: 0 });
  });

  it('records backorder.filled when a fill lands, keyed by the line', async () => {
    const sku = await api.createProduct({ quantity: 0, policy: 'backorder' });
    const cart = await createCart();
    const added = await addItem(cart, { sku, quantity: 2 });
    expect(added.json()).toMatchObject({ status: 'backordered' });
    const { holdId } = added.json() as { holdId: string };
    expect((await restock(sku, 2)).statusCode).toBe(202);
    const filled = await waitFor('the fill', () => events().get(eventId('backorder.filled', holdId)));
    expect(filled).toMatchObject({ aggregate: { kind: 'hold', id: holdId }, data: { holdId, sku, quantity: 2 } });
    expect(await eventsOf(sku, 'backorder.filled')).toHaveLength(1);
  });

  it('leaves the store clean', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const report = await checkSystem(api.worker.stock, api.shards, { pendingOrderMaxAgeMs: 60_000 });
    expect(report.violations).toEqual([]);
  });
});
