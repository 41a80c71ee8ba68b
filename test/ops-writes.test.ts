import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { expectCleanLedger, uniqueId } from './helpers';
import { bearer, ops, productDefinition, useTestApi } from './api-helpers';

/**
 * Ops' writes against the real API: a retried restock or move has one effect, creating a product twice is
 * harmless, and a client's mistake (an unknown SKU, hold or reorder) is a 4xx, never a 5xx.
 */
describe('ops writes are idempotent (app.inject, real Temporal and FerretDB)', () => {
  const api = useTestApi();
  const { inject } = api;
  /** Ops' products here have four units. */
  const definition = (sku: string, overrides: Record<string, unknown> = {}) =>
    productDefinition(sku, { quantity: 4, ...overrides });
  const createProduct = (overrides: Record<string, unknown> = {}) => api.createProduct({ quantity: 4, ...overrides });
  const restock = (sku: string, quantity: number, key?: string) =>
    inject({
      method: 'POST',
      url: `/v1/products/${sku}/restock`,
      headers: { ...ops, ...(key ? { 'idempotency-key': key } : {}) },
      payload: { quantity },
    });
  const move = (sku: string, body: Record<string, unknown>, key?: string) =>
    inject({
      method: 'POST',
      url: `/v1/products/${sku}/moves`,
      headers: { ...ops, ...(key ? { 'idempotency-key': key } : {}) },
      payload: body,
    });
  const totals = async (sku: string) => {
    const report = await expectCleanLedger(api.worker.stock, api.shards, sku);
    return report.totals;
  };

  describe('restock and moves', () => {
    it('need an Idempotency-Key', async () => {
      const sku = await createProduct();
      const noKeyRestock = await restock(sku, 1);
      expect(noKeyRestock.statusCode).toBe(400);
      expect(noKeyRestock.json()).toMatchObject({ error: 'invalid_request' });
      const noKeyMove = await move(sku, { quantity: 1, from: 'available', to: 'damaged' });
      expect(noKeyMove.statusCode).toBe(400);
      expect(noKeyMove.json()).toMatchObject({ error: 'invalid_request' });
      expect(await totals(sku)).toMatchObject({ received: 4, available: 4 });
    });

    it('a retried restock replays its answer and receives once; another body under the key is 422', async () => {
      const sku = await createProduct();
      const key = uniqueId('restock');
      const first = await restock(sku, 3, key);
      expect(first.statusCode, first.body).toBe(202);
      expect(first.headers['idempotent-replayed']).toBe('false');
      const again = await restock(sku, 3, key);
      expect(again.statusCode).toBe(202);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
      const reused = await restock(sku, 5, key);
      expect(reused.statusCode).toBe(422);
      expect(reused.json()).toMatchObject({ error: 'idempotency_key_reused' });
      expect(await totals(sku)).toMatchObject({ received: 7, available: 7 });
    });

    it('racing twins of one restock receive once, and all answer with one operation', async () => {
      const sku = await createProduct();
      const key = uniqueId('restock');
      const answers = await Promise.all(Array.from({ length: 6 }, () => restock(sku, 2, key)));
      expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 202));
      expect(new Set(answers.map((a) => a.json().opId)).size).toBe(1);
      expect(await totals(sku)).toMatchObject({ received: 6, available: 6 });
    });

    it('the operation id derives from the key: the same key is one operation even when its record is gone', async () => {
      const sku = await createProduct();
      const key = uniqueId('restock');
      const first = (await restock(sku, 2, key)).json();
      // As if the answer had never been recorded (a crash, SQLITE_BUSY): the handler runs again.
      for (let s = 0; s < api.shards.size; s++)
        await api.shards.cartsDb(s).collection('idempotency_keys').deleteMany({});
      const rerun = await restock(sku, 2, key);
      expect(rerun.statusCode).toBe(202);
      expect(rerun.json().opId).toBe(first.opId);
      expect(await totals(sku)).toMatchObject({ received: 6, available: 6 });
    });

    it('a retried move replays and moves once; another body under the key is 422', async () => {
      const sku = await createProduct();
      const key = uniqueId('move');
      const body = { quantity: 2, from: 'available', to: 'damaged' };
      const answers = await Promise.all([move(sku, body, key), move(sku, body, key)]);
      answers.push(await move(sku, body, key));
      for (const a of answers) {
        expect(a.statusCode, a.body).toBe(200);
        expect(a.json()).toEqual({ sku, quantity: 2, from: 'available', to: 'damaged' });
      }
      expect(answers.at(-1)!.headers['idempotent-replayed']).toBe('true');
      const reused = await move(sku, { ...body, to: 'repair' }, key);
      expect(reused.statusCode).toBe(422);
      expect(reused.json()).toMatchObject({ error: 'idempotency_key_reused' });
      expect(await totals(sku)).toMatchObject({ available: 2, damaged: 2 });
    });

    it('a key is one request on one product: the same key on another SKU is another request', async () => {
      const [a, b] = [await createProduct(), await createProduct()];
      const key = uniqueId('restock');
      expect((await restock(a, 1, key)).statusCode).toBe(202);
      const other = await restock(b, 1, key);
      expect(other.statusCode).toBe(202);
      expect(other.headers['idempotent-replayed']).toBe('false');
      expect(await totals(b)).toMatchObject({ received: 5 });
    });

    it('an unknown SKU is 404 with or without a key', async () => {
      const sku = uniqueId('nope');
      expect((await restock(sku, 1, uniqueId('k'))).json()).toMatchObject({ error: 'unknown_product' });
      expect((await restock(sku, 1, uniqueId('k'))).statusCode).toBe(404);
      const moved = await move(sku, { quantity: 1, from: 'available', to: 'damaged' }, uniqueId('k'));
      expect(moved.statusCode).toBe(404);
    });
  });

  describe('product creation', () => {
    it('201 the first time; the same definition replays the first answer; another definition is 409', async () => {
      const sku = uniqueId('sku');
      const first = await inject({ method: 'POST', url: '/v1/products', headers: ops, payload: definition(sku) });
      expect(first.statusCode, first.body).toBe(201);
      const again = await inject({ method: 'POST', url: '/v1/products', headers: ops, payload: definition(sku) });
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first.json());
      expect(again.headers['idempotent-replayed']).toBe('true');
      // Defaults spelled out are the same definition.
      const spelled = await inject({
        method: 'POST',
        url: '/v1/products',
        headers: ops,
        payload: { ...definition(sku), lowStockThreshold: 0, reorderQuantity: 0 },
      });
      expect(spelled.statusCode).toBe(201);
      for (const change of [
        { name: 'other' },
        { priceCents: 1 },
        { quantity: 5 },
        { buckets: 8 },
        { policy: 'backorder' },
      ]) {
        const other = await inject({
          method: 'POST',
          url: '/v1/products',
          headers: ops,
          payload: definition(sku, change),
        });
        expect(other.statusCode, JSON.stringify(change)).toBe(409);
        expect(other.json()).toMatchObject({ error: 'product_exists' });
      }
      expect(await totals(sku)).toMatchObject({ received: 4 });
    });

    it('racing creations of one SKU never answer 5xx and receive the initial stock once', async () => {
      const sku = uniqueId('sku');
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          inject({ method: 'POST', url: '/v1/products', headers: ops, payload: definition(sku) }),
        ),
      );
      for (const a of answers) expect(a.statusCode, a.body).toBe(201);
      expect(new Set(answers.map((a) => a.body)).size).toBe(1);
      expect(await totals(sku)).toMatchObject({ received: 4, available: 4 });
    });

    it('racing creations of one SKU with different definitions: one stands, the others are 409', async () => {
      const sku = uniqueId('sku');
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          inject({
            method: 'POST',
            url: '/v1/products',
            headers: ops,
            payload: definition(sku, { priceCents: 100 + i }),
          }),
        ),
      );
      const codes = answers.map((a) => a.statusCode).sort();
      expect(codes).toEqual([201, ...Array.from({ length: 9 }, () => 409)]);
      const winner = answers.find((a) => a.statusCode === 201)!.json();
      expect((await inject({ method: 'GET', url: `/v1/products/${sku}` })).json().priceCents).toBe(winner.priceCents);
    });
  });

  describe('unknown ids are 404', () => {
    async function backorderedLine(sku: string) {
      const cart = (await inject({ method: 'POST', url: '/v1/carts' })).json();
      const res = await inject({
        method: 'POST',
        url: `/v1/carts/${cart.cartId}/items`,
        headers: { ...bearer(cart.token), 'idempotency-key': uniqueId('k') },
        payload: { sku, quantity: 1 },
      });
      expect(res.statusCode, res.body).toBe(201);
      return { cart, holdId: res.json().holdId as string, status: res.json().status as string };
    }

    it('cancelling or moving a backorder of an unknown SKU or hold', async () => {
      const sku = await createProduct({ quantity: 0, policy: 'backorder' });
      const waiting = await backorderedLine(sku);
      expect(waiting.status).toBe('backordered');
      const unknownHold = `c${'0'.repeat(24)}.nope`;
      const cases: [InjectOptions, string][] = [
        [{ method: 'DELETE', url: `/v1/products/${sku}/backorders/${unknownHold}` }, 'unknown_backorder'],
        [{ method: 'DELETE', url: `/v1/products/${uniqueId('nope')}/backorders/${waiting.holdId}` }, 'unknown_product'],
        [
          { method: 'POST', url: `/v1/products/${sku}/backorders/${unknownHold}/position`, payload: { position: 0 } },
          'unknown_backorder',
        ],
        [
          {
            method: 'POST',
            url: `/v1/products/${uniqueId('nope')}/backorders/${waiting.holdId}/position`,
            payload: { position: 0 },
          },
          'unknown_product',
        ],
      ];
      for (const [request, code] of cases) {
        const res = await inject({ ...request, headers: ops });
        expect(res.statusCode, `${request.method} ${request.url}: ${res.body}`).toBe(404);
        expect(res.json()).toMatchObject({ error: code });
      }
      await expect
        .poll(
          async () =>
            (await inject({ method: 'GET', url: `/v1/products/${sku}/backorders`, headers: ops })).json().waiting,
        )
        .toEqual([expect.objectContaining({ holdId: waiting.holdId })]);
    });

    it('the backorder routes touch only waiting backorders of their SKU', async () => {
      const strict = await createProduct({ quantity: 2 });
      const held = await backorderedLine(strict);
      expect(held.status).toBe('held');
      const backorder = await createProduct({ quantity: 0, policy: 'backorder' });
      const waiting = await backorderedLine(backorder);
      // A held line is no backorder; a backorder of one SKU is not one of another.
      for (const [sku, holdId] of [
        [strict, held.holdId],
        [backorder, held.holdId],
        [strict, waiting.holdId],
      ] as const) {
        const res = await inject({ method: 'DELETE', url: `/v1/products/${sku}/backorders/${holdId}`, headers: ops });
        expect(res.statusCode, res.body).toBe(404);
        expect(res.json()).toMatchObject({ error: 'unknown_backorder' });
      }
      const cart = await inject({
        method: 'GET',
        url: `/v1/carts/${held.cart.cartId}`,
        headers: bearer(held.cart.token),
      });
      expect(cart.json().lines).toEqual([expect.objectContaining({ holdId: held.holdId, status: 'pending' })]);

      // Cancelling the waiting backorder twice: removed both times (DELETE is idempotent).
      for (let i = 0; i < 2; i++) {
        const res = await inject({
          method: 'DELETE',
          url: `/v1/products/${backorder}/backorders/${waiting.holdId}`,
          headers: ops,
        });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toEqual({ holdId: waiting.holdId, status: 'removed' });
      }
    });

    it('deciding a reorder of an unknown SKU, or of one without an open reorder', async () => {
      const quiet = await createProduct();
      for (const sku of [uniqueId('nope'), quiet]) {
        for (const action of ['approve', 'reject', 'receive']) {
          const res = await inject({ method: 'POST', url: `/v1/reorders/${sku}/${action}`, headers: ops, payload: {} });
          expect(res.statusCode, `${action} ${sku}: ${res.body}`).toBe(404);
          expect(res.json().error).toMatch(/^unknown_(product|reorder)$/);
        }
      }
    });
  });
});
