import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../src/contract/http';
import { workflowIds } from '../src/contract/workflow-ids';
import { uniqueId } from './helpers';
import { bearer, ops, startTestApi, type TestApi } from './api-helpers';

interface Operation {
  readonly operationId?: string;
  readonly tags?: string[];
  readonly security?: unknown[];
  readonly parameters?: unknown[];
  readonly requestBody?: { readonly required?: boolean };
  readonly responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }>; headers?: object }>;
}
interface OpenApiDocument {
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
}

const tags = ['carts', 'orders', 'products', 'backorders', 'reorders', 'ops', 'webhooks', 'health'];
/** Routes that are not part of the API: the document itself (and its UI) and the web app's files. */
const notApi = (url: string) => url === '/docs' || url.startsWith('/docs/') || url === '*' || url === '/*';

/**
 * The routes Fastify registered, as `METHOD /openapi/{style}` keys, from `printRoutes`' tree (each line a
 * segment under its parent, with the methods that end there). HEAD routes Fastify adds for GETs are left out.
 */
function registeredRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^(?<indent>[│ ]*)[├└]── (?<segment>\S+)(?: \((?<methods>[A-Z, ]+)\))?$/u.exec(line);
    if (!match?.groups) continue;
    const depth = match.groups.indent!.length / 4;
    stack.length = depth;
    stack.push(match.groups.segment!);
    const url = stack.join('');
    for (const method of match.groups.methods?.split(', ') ?? []) {
      if (method === 'HEAD' && match.groups.methods!.includes('GET')) continue;
      routes.push(`${method} ${url.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes;
}

describe('OpenAPI document (/docs/json)', () => {
  let api: TestApi;
  /** The same API with a per-cart limit of 2 requests a minute. */
  let limited: TestApi;
  let doc: OpenApiDocument;
  /** Every status a route answered in these tests, by `METHOD /openapi/{style}`. */
  const seen = new Map<string, Set<number>>();
  const track = (app: TestApi['app']) =>
    app.addHook('onResponse', async (request, reply) => {
      const url = request.routeOptions.url;
      if (!url) return;
      const key = `${request.method} ${url.replace(/:(\w+)/g, '{$1}')}`;
      seen.set(key, (seen.get(key) ?? new Set()).add(reply.statusCode));
    });

  beforeAll(async () => {
    [api, limited] = await Promise.all([startTestApi(), startTestApi({ rateLimitCartPerMinute: 2 })]);
    track(api.app);
    track(limited.app);
    doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json();
  });
  afterAll(async () => {
    await Promise.all([api?.close(), limited?.close()]);
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const),
    );
  const inject = (options: InjectOptions) => api.app.inject(options);

  it('documents every route Fastify registered, and nothing else', () => {
    const registered = registeredRoutes(api.app.printRoutes({ commonPrefix: false }))
      .filter((route) => !notApi(route.split(' ')[1]!))
      .sort();
    expect(registered.length).toBeGreaterThan(20);
    expect(
      operations()
        .map(([route]) => route)
        .sort(),
    ).toEqual(registered);
  });

  it('gives every operation a unique camelCase operationId and one of the tags', () => {
    const ids = operations().map(([route, op]) => {
      expect(op.operationId, route).toMatch(/^[a-z][a-zA-Z]+$/);
      expect(op.tags, route).toHaveLength(1);
      expect(tags, route).toContain(op.tags![0]);
      return op.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('requires a body on every route that needs one, and none on POST /v1/carts (an anonymous cart)', () => {
    const bodies = operations().flatMap(([route, op]) =>
      op.requestBody ? [[route, op.requestBody.required] as const] : [],
    );
    expect(bodies.length).toBeGreaterThan(5);
    for (const [route, required] of bodies) expect(required, route).toBe(route !== 'POST /v1/carts');
  });

  it('documents the statuses every route can answer, each error with the one shared error schema', () => {
    for (const [route, op] of operations()) {
      const statuses = Object.keys(op.responses).map(Number);
      const [method] = route.split(' ');
      expect(
        statuses.some((s) => s >= 200 && s < 300),
        `${route}: a success response`,
      ).toBe(true);
      const expected = [500, 503];
      if (op.operationId !== 'getLiveness') expected.push(429); // every route but the liveness probe is rate limited
      if (op.security?.length) expected.push(401, 403);
      if (op.parameters?.length) expected.push(400);
      if (method !== 'GET') expected.push(400, 413, 415); // anything that may carry a body
      expect(statuses, route).toEqual(expect.arrayContaining(expected));
      for (const status of statuses.filter((s) => s >= 400 && s !== 503)) {
        expect(op.responses[status]!.content?.['application/json']?.schema, `${route} ${status}`).toEqual({
          $ref: '#/components/schemas/Error',
        });
      }
    }
  });

  it("registers the error schema once; its `error` is an enum of every code, with each body's ids", () => {
    const error = doc.components.schemas.Error!;
    expect(error.properties!.error!.enum).toEqual(errorCodes);
    expect(Object.keys(error.properties!)).toEqual(
      expect.arrayContaining(['error', 'message', 'requestId', 'holdId', 'available', 'orderId']),
    );
    expect(Object.keys(doc.components.schemas).filter((name) => name.startsWith('def-'))).toEqual([]);
  });

  describe('HTTP', () => {
    async function createCart() {
      const res = await inject({ method: 'POST', url: '/v1/carts' });
      expect(res.statusCode).toBe(201);
      return res.json() as { cartId: string; token: string };
    }

    async function createProduct(quantity = 1) {
      const sku = uniqueId('oa');
      const res = await inject({
        method: 'POST',
        url: '/v1/products',
        headers: ops,
        payload: { sku, name: 'OpenAPI', priceCents: 100, quantity, policy: 'strict', buckets: 1 },
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers.location).toBe(`/v1/products/${sku}`);
      expect((await inject({ method: 'GET', url: res.headers.location as string })).statusCode).toBe(200);
      return sku;
    }

    it('answers 201 to POST /v1/carts with content-type: application/json and no body, with a Location', async () => {
      const res = await inject({ method: 'POST', url: '/v1/carts', headers: { 'content-type': 'application/json' } });
      expect(res.statusCode, res.body).toBe(201);
      const { cartId } = res.json();
      expect(res.headers.location).toBe(`/v1/carts/${cartId}`);
      // A route that needs a body still refuses none with a 400, not a parser error.
      const noBody = await inject({
        method: 'PATCH',
        url: `/v1/carts/${cartId}/items/${cartId}.x`,
        headers: { ...bearer(res.json().token), 'content-type': 'application/json' },
      });
      expect(noBody.statusCode).toBe(400);
      expect(noBody.json().error).toBe('invalid_request');
    });

    it('sets Location on the 201 of an added line, and on a replay of it', async () => {
      const sku = await createProduct(2);
      const cart = await createCart();
      const add = () =>
        inject({
          method: 'POST',
          url: `/v1/carts/${cart.cartId}/items`,
          headers: { ...bearer(cart.token), 'idempotency-key': 'loc' },
          payload: { sku, quantity: 1 },
        });
      const first = await add();
      expect(first.statusCode).toBe(201);
      expect(first.headers.location).toBe(`/v1/carts/${cart.cartId}/items/${first.json().holdId}`);
      const replay = await add();
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.headers.location).toBe(first.headers.location);
    });

    it('keeps holdId and available in a 409 out_of_stock, and points a checkout at its order', async () => {
      const sku = await createProduct(1);
      const cart = await createCart();
      const refused = await inject({
        method: 'POST',
        url: `/v1/carts/${cart.cartId}/items`,
        headers: { ...bearer(cart.token), 'idempotency-key': 'oos' },
        payload: { sku, quantity: 2 },
      });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toEqual({
        error: 'out_of_stock',
        message: 'only 1 available',
        holdId: expect.any(String),
        available: 1,
        requestId: expect.any(String),
      });
      await inject({
        method: 'POST',
        url: `/v1/carts/${cart.cartId}/items`,
        headers: { ...bearer(cart.token), 'idempotency-key': 'ok' },
        payload: { sku, quantity: 1 },
      });
      const checkout = await inject({
        method: 'POST',
        url: `/v1/carts/${cart.cartId}/checkout`,
        headers: { ...bearer(cart.token), 'idempotency-key': 'pay' },
        payload: { paymentToken: 'tok_visa' },
      });
      expect(checkout.statusCode).toBe(202);
      expect(checkout.headers.location).toBe(`/v1/orders/${checkout.json().orderId}`);
      await api.client.workflow.getHandle(workflowIds.checkout(cart.cartId)).result();
      const order = await inject({
        method: 'GET',
        url: checkout.headers.location as string,
        headers: bearer(cart.token),
      });
      expect(order.json()).toMatchObject({ status: 'completed' });
    });

    it('sends WWW-Authenticate: Bearer with every 401', async () => {
      const cart = await createCart();
      const none = await inject({ method: 'GET', url: `/v1/carts/${cart.cartId}` });
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="holdfast"');
      const forged = await inject({
        method: 'GET',
        url: `/v1/carts/${cart.cartId}`,
        headers: bearer(`${cart.cartId}.forged`),
      });
      expect(forged.statusCode).toBe(401);
      expect(forged.headers['www-authenticate']).toBe('Bearer realm="holdfast", error="invalid_token"');
      const opsRoute = await inject({ method: 'GET', url: '/v1/ops/overview' });
      expect(opsRoute.statusCode).toBe(401);
      expect(opsRoute.headers['www-authenticate']).toMatch(/^Bearer /);
    });

    it('sends Retry-After with a 429', async () => {
      const cart = (await limited.app.inject({ method: 'POST', url: '/v1/carts' })).json();
      const read = () =>
        limited.app.inject({ method: 'GET', url: `/v1/carts/${cart.cartId}`, headers: bearer(cart.token) });
      const answers: LightMyRequestResponse[] = [];
      for (let i = 0; i < 3; i++) answers.push(await read());
      expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 429]);
      const tooMany = answers[2]!;
      expect(tooMany.json()).toMatchObject({ error: 'rate_limited' });
      expect(Number(tooMany.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(tooMany.headers['retry-after'])).toBeLessThanOrEqual(60);
    });

    it.each([
      ['application/xml', '<cart/>'],
      ['text/plain', 'a cart'],
      ['application/x-www-form-urlencoded', 'sku=a'],
    ])('answers 415 unsupported_media_type for a %s body', async (type, payload) => {
      const res = await inject({ method: 'POST', url: '/v1/carts', headers: { 'content-type': type }, payload });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ error: 'unsupported_media_type', requestId: expect.any(String) });
    });

    it('answers /livez without looking at dependencies, /readyz (and /health) when they answer', async () => {
      const live = await inject({ method: 'GET', url: '/livez' });
      expect(live.statusCode).toBe(200);
      expect(live.json()).toEqual({ status: 'ok' });
      const ready = await inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ok', temporal: true, shards: expect.arrayContaining([true]) });
      expect((await inject({ method: 'GET', url: '/health' })).json()).toEqual(ready.json());
    });

    it('serialises the ops check as documented, totals included', async () => {
      const res = await inject({ method: 'GET', url: '/v1/ops/check', headers: ops });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        ok: expect.any(Boolean),
        violations: expect.any(Array),
        stock: expect.any(Array),
        counts: { lines: expect.any(Object), orders: expect.any(Object), charges: expect.any(Number) },
        totals: {
          chargedCents: expect.any(Number),
          refundedCents: expect.any(Number),
          ordersCents: expect.any(Number),
          sold: expect.any(Object),
        },
      });
      const [first] = res.json().stock;
      expect(first).toMatchObject({ sku: expect.any(String), totals: { received: expect.any(Number) } });
    });

    it('answered only statuses each route documents', async () => {
      // A few more answers than the tests above gave: unknown ids, bad input, the wrong token.
      const cart = await createCart();
      const sku = await createProduct(1);
      await Promise.all([
        inject({ method: 'GET', url: '/v1/products/no-such-sku' }),
        inject({ method: 'GET', url: `/v1/products/${'x'.repeat(200)}` }),
        inject({ method: 'GET', url: '/v1/orders/nope', headers: bearer(cart.token) }),
        inject({ method: 'POST', url: `/v1/products/${sku}/restock`, headers: bearer(cart.token), payload: {} }),
        inject({ method: 'POST', url: `/v1/products/${sku}/restock`, headers: ops, payload: { quantity: 1 } }),
        inject({ method: 'POST', url: '/v1/reorders/nope/approve', headers: ops, payload: {} }),
        inject({ method: 'GET', url: `/v1/products/${sku}/backorders`, headers: ops }),
        inject({ method: 'GET', url: `/v1/ops/invariants/${sku}`, headers: ops }),
        inject({ method: 'GET', url: '/v1/reorders', headers: ops }),
        inject({ method: 'GET', url: '/metrics' }),
      ]);
      expect(seen.size).toBeGreaterThan(10);
      for (const [route, statuses] of seen) {
        const [method, path] = route.split(' ');
        if (notApi(path!)) continue;
        const documented = Object.keys(doc.paths[path!]?.[method!.toLowerCase()]?.responses ?? {});
        for (const status of statuses) expect(documented, `${route} answered ${status}`).toContain(String(status));
      }
    });
  });
});
