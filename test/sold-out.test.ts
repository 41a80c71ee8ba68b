import { performance } from 'node:perf_hooks';
import { WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { keyDigest } from '../src/api/idempotency';
import { firstAnswerOf } from '../src/contract/line-answer';
import { collections } from '../src/db';
import { workflowIds } from '../src/contract/workflow-ids';
import { expectCleanLedger, productInput, uniqueId } from './helpers';
import { bearer, ops, useTestApi } from './api-helpers';

/**
 * A strict SKU that is sold out is refused by the API from the ledger heads, without a workflow and with one write
 * (the refusal, as the line's first attempt); what it refuses must be what the line's own first reservation would
 * refuse, and it is the line's answer for good.
 */
describe('sold-out answers at once (real Temporal and FerretDB)', () => {
  // The API's stock apart from the worker's, as in a split deployment: its head cache does not see the
  // worker's releases, so a refusal must rest on fresh reads.
  const api = useTestApi({}, { ownStock: true });
  const { inject } = api;

  async function createCart() {
    const res = await inject({ method: 'POST', url: '/v1/carts' });
    expect(res.statusCode).toBe(201);
    return res.json() as { cartId: string; token: string };
  }
  type Cart = Awaited<ReturnType<typeof createCart>>;
  const addItem = (cart: Cart, sku: string, key = uniqueId('key'), quantity = 1) =>
    inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': key },
      payload: { sku, quantity },
    });
  const removeItem = (cart: Cart, holdId: string) =>
    inject({ method: 'DELETE', url: `/v1/carts/${cart.cartId}/items/${holdId}`, headers: bearer(cart.token) });
  const lineRun = (cart: Cart, key: string) =>
    api.client.workflow.getHandle(workflowIds.hold(`${cart.cartId}.${keyDigest(cart.cartId, key)}`));
  const idempotencyRecord = (cart: Cart, key: string) => {
    const id = `items:${cart.cartId}:${key}`;
    return api.shards.cartsDb(api.shards.shardFor(id)).collection(collections.carts.idempotency);
  };

  it('refuses a sold-out SKU with no workflow, one answer per key; counted for ops', async () => {
    const sku = await api.createProduct({ quantity: 1 });
    const holder = await createCart();
    const held = await addItem(holder, sku);
    expect(held.statusCode).toBe(201);

    // The API's last look at the heads (at the holder's add) showed the unit: for a second it trusts that, and
    // leaves a refusal to the workflow; after that it looks again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const shopper = await createCart();
    const refused = await addItem(shopper, sku, 'late');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'out_of_stock', available: 0 });
    await expect(lineRun(shopper, 'late').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // Asked again while still sold out: the refusal is found before the key's record is looked up, and gives
    // way to the one kept (its request id says which); another body under the key is a 422.
    const twice = await addItem(shopper, sku, 'late');
    expect(twice.statusCode).toBe(409);
    expect(twice.headers['idempotent-replayed']).toBe('true');
    expect(twice.json().requestId).toBe(refused.json().requestId);
    expect((await addItem(shopper, sku, 'late', 2)).statusCode).toBe(422);
    const overview = await inject({ method: 'GET', url: '/v1/ops/overview', headers: ops });
    expect(overview.json().soldOutRefusals).toContainEqual({ sku, count: 1 });

    // The key keeps its answer, even once the unit is back; another key holds it.
    expect((await removeItem(holder, held.json().holdId)).statusCode).toBe(200);
    const replayed = await addItem(shopper, sku, 'late');
    expect(replayed.statusCode).toBe(409);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    const again = await addItem(shopper, sku, 'again');
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ status: 'held' });
    await expectCleanLedger(api.worker.stock, api.shards, sku);
  });

  it("a refusal at once is the key's answer for good, even when its kept answer is lost and the unit is back", async () => {
    const sku = await api.createProduct({ quantity: 1 });
    const holder = await createCart();
    const held = await addItem(holder, sku);
    expect(held.statusCode).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the API looks at the heads again (see above)
    const shopper = await createCart();
    const refused = await addItem(shopper, sku, 'lost');
    expect(refused.statusCode).toBe(409);
    await expect(lineRun(shopper, 'lost').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // As if the API crashed before recording the answer (or FerretDB refused the write), and the unit came back:
    // the retry finds no record and a unit to take, and still answers the refusal the shopper may have seen.
    await idempotencyRecord(shopper, 'lost').deleteOne({ _id: `items:${shopper.cartId}:lost` as never });
    expect((await removeItem(holder, held.json().holdId)).statusCode).toBe(200);
    const retried = await addItem(shopper, sku, 'lost');
    expect(retried.statusCode).toBe(409);
    expect(retried.json()).toMatchObject({ error: 'out_of_stock', holdId: refused.json().holdId, available: 0 });
    // The retry ran the line's workflow, whose reservation followed the refusal: nothing was taken.
    expect(firstAnswerOf(await lineRun(shopper, 'lost').result())).toMatchObject({ status: 'out_of_stock' });
    expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json()).toMatchObject({
      available: 1,
      reserved: 0,
    });
    await expectCleanLedger(api.worker.stock, api.shards, sku);
  });

  it('a retry of the key that took the last unit answers its hold, not a refusal (its answer was lost)', async () => {
    const sku = await api.createProduct({ quantity: 1 });
    const cart = await createCart();
    const held = await addItem(cart, sku, 'mine');
    expect(held.statusCode).toBe(201);
    // As if the API crashed before recording the answer: the SKU is sold out, by this very line.
    await idempotencyRecord(cart, 'mine').deleteOne({ _id: `items:${cart.cartId}:mine` as never });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the API looks at the heads again (see above)
    const retried = await addItem(cart, sku, 'mine');
    expect(retried.statusCode).toBe(201);
    expect(retried.json()).toMatchObject({ status: 'held', holdId: held.json().holdId });
    await expect
      .poll(async () => (await inject({ method: 'GET', url: `/v1/products/${sku}` })).json().reserved)
      .toBe(1);
    await expectCleanLedger(api.worker.stock, api.shards, sku);
  });

  it('never refuses a unit that was free for the whole request, while units are released', async () => {
    const units = 6;
    const released = 3;
    // Created by the worker's stock: the API's cache knows nothing of it but what it reads.
    const sku = uniqueId('sku');
    await api.worker.stock.createProduct(productInput(sku, { buckets: 3 }), units);
    const holders: { cart: Cart; holdId: string }[] = [];
    for (let i = 0; i < units; i++) {
      const cart = await createCart();
      const res = await addItem(cart, sku);
      expect(res.statusCode).toBe(201);
      holders.push({ cart, holdId: res.json().holdId });
    }

    // The API's last look at the heads (the holders' adds) showed units: a second later it looks again.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    /** Every answer of the shoppers racing for the released units, with when it was sent and answered. */
    const answers: { start: number; end: number; status: number }[] = [];
    const heldCount = () => answers.filter((a) => a.status === 201).length;
    let releasedAt = Infinity;
    const deadline = Date.now() + 60_000;
    const shopper = async () => {
      while (heldCount() < released && Date.now() < deadline) {
        const cart = await createCart();
        const start = performance.now();
        const res = await addItem(cart, sku);
        answers.push({ start, end: performance.now(), status: res.statusCode });
        expect([201, 409], res.body).toContain(res.statusCode);
      }
    };
    const release = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const removed = await Promise.all(holders.slice(0, released).map((h) => removeItem(h.cart, h.holdId)));
      expect(removed.map((r) => r.statusCode)).toEqual(Array(released).fill(200));
      releasedAt = performance.now();
    };
    await Promise.all([release(), ...Array.from({ length: 6 }, shopper)]);

    expect(heldCount()).toBe(released);
    const refusedBefore = answers.filter((a) => a.status === 409 && a.end < releasedAt).length;
    expect(refusedBefore).toBeGreaterThan(0);
    // Refusals at once were among them (not only the workflows' own).
    const overview = await inject({ method: 'GET', url: '/v1/ops/overview', headers: ops });
    const atOnce = overview.json().soldOutRefusals.find((r: { sku: string }) => r.sku === sku);
    expect(atOnce?.count ?? 0).toBeGreaterThan(0);
    // A refusal sent once every released unit was back is right only if, by its answer, the released units could
    // all have been taken: that many holds had been asked for (only shoppers' holds take units here).
    for (const refusal of answers.filter((a) => a.status === 409 && a.start > releasedAt)) {
      const asked = answers.filter((a) => a.status === 201 && a.start < refusal.end).length;
      expect(asked, `a refusal at ${refusal.start.toFixed(0)}-${refusal.end.toFixed(0)} ms`).toBeGreaterThanOrEqual(
        released,
      );
    }
    const report = await expectCleanLedger(api.worker.stock, api.shards, sku);
    expect(report.totals).toMatchObject({ held: units, available: 0 });
  }, 120_000);
});
