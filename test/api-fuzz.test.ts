import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectCleanLedger, uniqueId } from './helpers';
import { bearer, ops, useTestApi } from './api-helpers';

/**
 * Property-based fuzzing of every route with bad input: malformed JSON, wrong types, huge, negative and zero
 * numbers, unknown SKUs, overlong strings, foreign cart ids. Every answer is a 4xx with an error code, never a
 * 5xx, and the stock ledger is unchanged.
 */
describe('API fuzzing (fast-check)', () => {
  const api = useTestApi();
  let sku: string;
  let cart: { cartId: string; token: string };
  let other: { cartId: string; token: string };
  let holdId: string;

  beforeAll(async () => {
    sku = uniqueId('fuzz');
    await api.app.inject({
      method: 'POST',
      url: '/v1/products',
      headers: ops,
      payload: { sku, name: 'Fuzz', priceCents: 100, quantity: 10, policy: 'strict', buckets: 2 },
    });
    cart = (await api.app.inject({ method: 'POST', url: '/v1/carts' })).json();
    other = (await api.app.inject({ method: 'POST', url: '/v1/carts' })).json();
    holdId = (
      await api.app.inject({
        method: 'POST',
        url: `/v1/carts/${cart.cartId}/items`,
        headers: { ...bearer(cart.token), 'idempotency-key': 'seed' },
        payload: { sku, quantity: 1 },
      })
    ).json().holdId;
  });

  const junkValue = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1_000_000_000, max: 0 }),
    fc.constantFrom(Number.MAX_SAFE_INTEGER, 1e308, 1_000_001, 0.5, -0.0001),
    fc.string({ maxLength: 20 }),
    fc.string({ minLength: 300, maxLength: 400 }),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  );
  /** A body that is wrong in at least one way: a bad value for a known field, an unknown field, or not JSON. */
  const badBody = (fields: string[]) =>
    fc.oneof(
      fc
        .record({ field: fc.constantFrom(...fields), value: junkValue })
        .map(({ field, value }) => ({ [field]: value })),
      fc
        .record({
          extra: fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !fields.includes(k)),
          value: junkValue,
        })
        .map(({ extra, value }) => ({ [extra]: value, ...Object.fromEntries(fields.map((f) => [f, 1])) })),
      fc.constantFrom('{"sku": ', 'not json', '[1,2', '{"quantity": 1e999999}', '"just a string"'),
    );

  type Case = (body: unknown) => InjectOptions;
  const jsonRequest = (method: InjectOptions['method'], url: string, headers: Record<string, string>) =>
    ((body: unknown) => ({
      method,
      url,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    })) as Case;

  const routes: [string, () => Case, string[]][] = [
    [
      'add to cart',
      () =>
        jsonRequest('POST', `/v1/carts/${cart.cartId}/items`, {
          ...bearer(cart.token),
          'idempotency-key': uniqueId('k'),
        }),
      ['sku', 'quantity'],
    ],
    [
      'add to a foreign cart',
      () =>
        jsonRequest('POST', `/v1/carts/${other.cartId}/items`, {
          ...bearer(cart.token),
          'idempotency-key': uniqueId('k'),
        }),
      ['sku', 'quantity'],
    ],
    [
      'change quantity',
      () => jsonRequest('PATCH', `/v1/carts/${cart.cartId}/items/${holdId}`, bearer(cart.token)),
      ['quantity'],
    ],
    [
      'checkout',
      () =>
        jsonRequest('POST', `/v1/carts/${cart.cartId}/checkout`, {
          ...bearer(cart.token),
          'idempotency-key': uniqueId('k'),
        }),
      ['paymentToken'],
    ],
    [
      'create product',
      () => jsonRequest('POST', '/v1/products', ops),
      ['sku', 'name', 'priceCents', 'quantity', 'policy'],
    ],
    ['restock', () => jsonRequest('POST', `/v1/products/${sku}/restock`, ops), ['quantity']],
    ['move units', () => jsonRequest('POST', `/v1/products/${sku}/moves`, ops), ['quantity', 'from', 'to']],
    ['reprioritise', () => jsonRequest('POST', `/v1/products/${sku}/backorders/${holdId}/position`, ops), ['position']],
    ['approve reorder', () => jsonRequest('POST', `/v1/reorders/${sku}/approve`, ops), ['quantity']],
  ];

  it.each(routes)('%s: bad bodies are always 4xx and change nothing', async (_name, request, fields) => {
    const before = await api.worker.stock.summary(sku);
    await fc.assert(
      fc.asyncProperty(badBody(fields), async (body) => {
        const res = await api.app.inject(request()(body));
        expect(res.statusCode, `${res.statusCode} ${res.body} for ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(res.json().error).toEqual(expect.any(String));
      }),
      { numRuns: 40 },
    );
    const report = await expectCleanLedger(api.worker.stock, api.shards, sku);
    expect(report.totals).toMatchObject({ available: before.available, held: before.held, received: before.received });
  });

  it('a body that is not JSON is 415 unsupported_media_type on every write, and changes nothing', async () => {
    const before = await api.worker.stock.summary(sku);
    const writes = (): [InjectOptions['method'], string, Record<string, string>][] => [
      ['POST', '/v1/carts', {}],
      ['POST', `/v1/carts/${cart.cartId}/items`, { ...bearer(cart.token), 'idempotency-key': uniqueId('k') }],
      ['PATCH', `/v1/carts/${cart.cartId}/items/${holdId}`, bearer(cart.token)],
      ['POST', `/v1/carts/${cart.cartId}/checkout`, { ...bearer(cart.token), 'idempotency-key': uniqueId('k') }],
      ['POST', '/v1/products', ops],
      ['POST', `/v1/products/${sku}/restock`, { ...ops, 'idempotency-key': uniqueId('k') }],
    ];
    const contentType = fc.oneof(
      fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream'),
      fc.constantFrom('application/x-www-form-urlencoded', 'application/jsonx', 'json', 'text/json'),
    );
    await fc.assert(
      fc.asyncProperty(
        contentType,
        fc.integer({ min: 0, max: 5 }),
        fc.string({ minLength: 1 }),
        async (type, which, body) => {
          const [method, url, headers] = writes()[which]!;
          const res = await api.app.inject({
            method,
            url,
            headers: { ...headers, 'content-type': type },
            payload: body,
          });
          expect(res.statusCode, `${method} ${url} as ${type} -> ${res.statusCode} ${res.body}`).toBe(415);
          expect(res.json().error).toBe('unsupported_media_type');
        },
      ),
      { numRuns: 60 },
    );
    expect((await api.worker.stock.summary(sku)).held).toBe(before.held);
  });

  it('bad path parameters (overlong, unknown, foreign ids) are 4xx', async () => {
    const segment = fc.oneof(
      fc.string({ minLength: 1, maxLength: 30 }).map(encodeURIComponent),
      fc.string({ minLength: 200, maxLength: 300 }).map(encodeURIComponent),
      fc.constantFrom('..', '%00', 'no-such-thing', other.cartId),
    );
    await fc.assert(
      fc.asyncProperty(segment, fc.integer({ min: 0, max: 5 }), async (id, which) => {
        const requests: InjectOptions[] = [
          { method: 'GET', url: `/v1/carts/${id}`, headers: bearer(cart.token) },
          { method: 'DELETE', url: `/v1/carts/${cart.cartId}/items/${id}`, headers: bearer(cart.token) },
          { method: 'GET', url: `/v1/orders/${id}`, headers: bearer(cart.token) },
          { method: 'GET', url: `/v1/products/${id}` },
          { method: 'GET', url: `/v1/products/${id}/backorders`, headers: ops },
          { method: 'GET', url: `/v1/ops/invariants/${id}`, headers: ops },
        ];
        const res = await api.app.inject(requests[which]!);
        expect(res.statusCode, `${requests[which]!.url} -> ${res.statusCode} ${res.body}`).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
    await expectCleanLedger(api.worker.stock, api.shards, sku);
  });
});
