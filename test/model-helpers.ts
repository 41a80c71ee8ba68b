import { setTimeout as sleep } from 'node:timers/promises';
import type { InjectOptions } from 'fastify';
import type { ProductView } from '../src/cli/api-client';
import type { SystemReport } from '../src/ops/check-system';
import type { BackorderQueueState, CartLine, Order } from '../src/contract/types';
import { bearer, ops, type TestApi } from './api-helpers';

/** One answer of the API, its body parsed when it is JSON. */
export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  /** The `idempotent-replayed` header. */
  readonly replayed: boolean;
  readonly raw: string;
}

export interface CartRef {
  readonly cartId: string;
  readonly token: string;
}

/**
 * The public API over `app.inject`, for the model-based test: a shopper's and ops' calls, each answer kept as a
 * status and a body. A 5xx is never an answer the API may give: it is noted in `problems` (with its body), and
 * the run goes on, so that one run reports everything it found.
 */
export class ApiCalls {
  readonly problems: string[] = [];

  constructor(private readonly api: TestApi) {}

  note(problem: string) {
    this.problems.push(problem);
  }

  async call<T = Record<string, unknown>>(options: InjectOptions): Promise<Reply<T>> {
    const res = await this.api.app.inject(options);
    if (res.statusCode >= 500) this.note(`${options.method} ${options.url} → ${res.statusCode} ${res.body}`);
    let body: unknown;
    try {
      body = res.json();
    } catch {
      body = {};
    }
    return {
      status: res.statusCode,
      body: body as T,
      replayed: res.headers['idempotent-replayed'] === 'true',
      raw: res.body,
    };
  }

  createProduct(product: {
    sku: string;
    priceCents: number;
    quantity: number;
    policy: 'strict' | 'backorder';
    buckets: number;
  }) {
    return this.call<ProductView>({
      method: 'POST',
      url: '/v1/products',
      headers: ops,
      payload: { name: `Model ${product.sku}`, ...product },
    });
  }

  product(sku: string) {
    return this.call<ProductView>({ method: 'GET', url: `/v1/products/${sku}` });
  }

  createCart() {
    return this.call<CartRef>({ method: 'POST', url: '/v1/carts' });
  }

  cart(cart: CartRef) {
    return this.call<{ cartId: string; lines: CartLine[] }>({
      method: 'GET',
      url: `/v1/carts/${cart.cartId}`,
      headers: bearer(cart.token),
    });
  }

  addItem(cart: CartRef, key: string, body: { sku: string; quantity: number }) {
    return this.call({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': key },
      payload: body,
    });
  }

  changeQuantity(cart: CartRef, holdId: string, quantity: number) {
    return this.call({
      method: 'PATCH',
      url: `/v1/carts/${cart.cartId}/items/${holdId}`,
      headers: bearer(cart.token),
      payload: { quantity },
    });
  }

  removeLine(cart: CartRef, holdId: string) {
    return this.call({
      method: 'DELETE',
      url: `/v1/carts/${cart.cartId}/items/${holdId}`,
      headers: bearer(cart.token),
    });
  }

  checkout(cart: CartRef, key: string, paymentToken: string) {
    return this.call({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/checkout`,
      headers: { ...bearer(cart.token), 'idempotency-key': key },
      payload: { paymentToken },
    });
  }

  order(cart: CartRef, orderId: string) {
    return this.call<Order>({ method: 'GET', url: `/v1/orders/${orderId}`, headers: bearer(cart.token) });
  }

  restock(sku: string, key: string, quantity: number) {
    return this.call({
      method: 'POST',
      url: `/v1/products/${sku}/restock`,
      headers: { ...ops, 'idempotency-key': key },
      payload: { quantity },
    });
  }

  backorders(sku: string) {
    return this.call<BackorderQueueState>({ method: 'GET', url: `/v1/products/${sku}/backorders`, headers: ops });
  }

  cancelBackorder(sku: string, holdId: string) {
    return this.call({ method: 'DELETE', url: `/v1/products/${sku}/backorders/${holdId}`, headers: ops });
  }

  reprioritise(sku: string, holdId: string, position: number) {
    return this.call({
      method: 'POST',
      url: `/v1/products/${sku}/backorders/${holdId}/position`,
      headers: ops,
      payload: { position },
    });
  }

  check() {
    return this.call<SystemReport>({ method: 'GET', url: '/v1/ops/check', headers: ops });
  }
}

/** What the store shows of everything a run touched, once it has come to rest. */
export interface Observation {
  readonly orders: Map<string, Order | undefined>;
  readonly carts: Map<string, CartLine[]>;
  readonly products: Map<string, ProductView>;
  readonly queues: Map<string, BackorderQueueState>;
}

export interface Observed {
  readonly carts: readonly CartRef[];
  readonly orders: readonly { readonly cart: CartRef; readonly orderId: string }[];
  readonly skus: readonly string[];
  readonly backorderSkus: readonly string[];
}

export async function observe(calls: ApiCalls, what: Observed): Promise<Observation> {
  const [orders, carts, products, queues] = await Promise.all([
    Promise.all(what.orders.map(async (o) => [o.orderId, await calls.order(o.cart, o.orderId)] as const)),
    Promise.all(what.carts.map(async (c) => [c.cartId, await calls.cart(c)] as const)),
    Promise.all(what.skus.map(async (sku) => [sku, await calls.product(sku)] as const)),
    Promise.all(what.backorderSkus.map(async (sku) => [sku, await calls.backorders(sku)] as const)),
  ]);
  return {
    orders: new Map(orders.map(([id, r]) => [id, r.status === 200 ? r.body : undefined])),
    carts: new Map(carts.map(([id, r]) => [id, r.status === 200 ? r.body.lines : []])),
    products: new Map(products.map(([sku, r]) => [sku, r.body])),
    queues: new Map(queues.map(([sku, r]) => [sku, r.body])),
  };
}

const busy = (o: Observation) =>
  [...o.orders.values()].some((order) => order?.status !== 'completed' && order?.status !== 'failed') ||
  [...o.carts.values()].some((lines) => lines.some((l) => l.status === 'pending'));

const fingerprint = (o: Observation) =>
  JSON.stringify([
    [...o.orders.values()].map((order) => order?.status),
    [...o.carts.values()].map((lines) => lines.map((l) => [l.holdId, l.status, l.quantity])),
    [...o.products.values()].map((p) => [p.available, p.reserved, p.sold, p.incoming, p.backordered]),
    [...o.queues.values()].map((q) => q.waiting.map((w) => w.holdId)),
  ]);

/**
 * Waits until every order is final, no line is pending (held lines lapse with the TTL, and a fill of a
 * backorder starts a new hold that lapses in turn), and nothing changed for `stableMs` (product views are
 * summaries up to a second old). Returns the last observation and whether it came to rest before `timeoutMs`.
 */
export async function waitUntilQuiet(
  calls: ApiCalls,
  what: Observed,
  { timeoutMs = 60_000, stableMs = 1500 } = {},
): Promise<{ observation: Observation; quiet: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let since = Date.now();
  for (;;) {
    const observation = await observe(calls, what);
    const print = fingerprint(observation);
    if (print !== last) {
      last = print;
      since = Date.now();
    } else if (!busy(observation) && Date.now() - since >= stableMs) {
      return { observation, quiet: true };
    }
    if (Date.now() > deadline) return { observation, quiet: false };
    await sleep(300);
  }
}
