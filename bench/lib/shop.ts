import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BackorderQueue,
  CartLine,
  CartView,
  ErrorBody,
  Hold,
  InvariantReport,
  NewCart,
  Order,
  ProductView,
  Queued,
  ResponseBody,
} from '../../src/client';
import { describeAnswer, type HttpClient } from './http';
import { runLoad, type LoadRun } from '../harness/load';
import type { Progress } from './progress';

export type { BackorderQueue, ProductView } from '../../src/client';
/** A cart and its bearer token. */
export type Cart = NewCart;

/**
 * The holdfast API as the benchmarks use it: a shopper's carts and lines, ops' products and checks. Bodies are
 * typed by the API's schemas (src/client); requests go over bench/lib/http.ts's undici pool, not fetch.
 */

/** What one add-to-cart answered: 201 held/backordered, 409 out_of_stock, or anything else (an error). */
export interface AddToCart {
  readonly status: number;
  readonly holdStatus: 'held' | 'backordered' | 'out_of_stock' | undefined;
  readonly holdId: string | undefined;
  readonly expiresAt: string | undefined;
  /** For any other answer: `status error: message`. */
  readonly error: string | undefined;
  /** 202 queued answers before this one (a drop's waiting room): each was followed by a wait of Retry-After. */
  readonly queued: number;
}

/** A SKU name no earlier run used. */
export function benchSku(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export class Shop {
  constructor(
    readonly http: HttpClient,
    private readonly opsToken: string,
  ) {}

  /** `admitPerSecond`: a drop's waiting room. */
  createProduct(
    sku: string,
    quantity: number,
    policy: 'strict' | 'backorder',
    admitPerSecond?: number,
  ): Promise<ProductView> {
    return this.http.expect<ProductView>(201, 'POST', '/v1/products', {
      token: this.opsToken,
      body: { sku, name: `Bench ${sku}`, priceCents: 1999, quantity, policy, buckets: 8, admitPerSecond },
    });
  }

  product(sku: string): Promise<ProductView> {
    return this.http.expect<ProductView>(200, 'GET', `/v1/products/${sku}`);
  }

  invariants(sku: string): Promise<InvariantReport> {
    return this.http.expect<InvariantReport>(200, 'GET', `/v1/ops/invariants/${sku}`, { token: this.opsToken });
  }

  restock(sku: string, quantity: number, key: string): Promise<unknown> {
    return this.http.expect(202, 'POST', `/v1/products/${sku}/restock`, {
      token: this.opsToken,
      headers: { 'idempotency-key': key },
      body: { quantity },
    });
  }

  backorders(sku: string): Promise<BackorderQueue> {
    return this.http.expect<BackorderQueue>(200, 'GET', `/v1/products/${sku}/backorders`, { token: this.opsToken });
  }

  createCart(): Promise<Cart> {
    return this.http.expect<Cart>(201, 'POST', '/v1/carts');
  }

  /** One shopper's add-to-cart: in a drop's waiting room, asked again after each Retry-After until answered. */
  async addToCart(cart: Cart, sku: string, key: string): Promise<AddToCart> {
    for (let queued = 0; ; queued++) {
      // One of three bodies: a Hold (201), Queued (202), or an ErrorBody (409 out_of_stock names the refused line).
      const answer = await this.http.request<Partial<Hold> & Partial<ErrorBody> & Partial<Queued>>(
        'POST',
        `/v1/carts/${cart.cartId}/items`,
        { token: cart.token, headers: { 'idempotency-key': key }, body: { sku, quantity: 1 } },
      );
      const b = answer.body;
      if (answer.status === 202 && b.status === 'queued' && b.retryAfterSeconds) {
        await sleep(b.retryAfterSeconds * 1000);
        continue;
      }
      if (answer.status === 201 && (b.status === 'held' || b.status === 'backordered')) {
        const { holdId, expiresAt } = b;
        return { status: 201, holdStatus: b.status, holdId, expiresAt, error: undefined, queued };
      }
      if (answer.status === 409 && b.error === 'out_of_stock') {
        const { holdId } = b;
        return { status: 409, holdStatus: 'out_of_stock', holdId, expiresAt: undefined, error: undefined, queued };
      }
      const error = describeAnswer(answer);
      return { status: answer.status, holdStatus: undefined, holdId: undefined, expiresAt: undefined, error, queued };
    }
  }

  checkout(cart: Cart, key: string): Promise<ResponseBody<'checkoutCart', 202>> {
    return this.http.expect<ResponseBody<'checkoutCart', 202>>(202, 'POST', `/v1/carts/${cart.cartId}/checkout`, {
      token: cart.token,
      headers: { 'idempotency-key': key },
      body: { paymentToken: 'tok_visa' },
    });
  }

  order(cart: Cart, orderId: string): Promise<Order> {
    return this.http.expect<Order>(200, 'GET', `/v1/orders/${orderId}`, { token: cart.token });
  }

  async lines(cart: Cart): Promise<CartLine[]> {
    const body = await this.http.expect<CartView>(200, 'GET', `/v1/carts/${cart.cartId}`, {
      token: cart.token,
    });
    return body.lines;
  }

  /** `count` carts, made `concurrency` at a time (not measured); any failure ends the run. */
  async createCarts(count: number, concurrency: number, progress: Progress, signal: AbortSignal): Promise<Cart[]> {
    const run = await runLoad({
      total: count,
      concurrency,
      send: () => this.createCart(),
      signal,
      onProgress: progress.startCell(`carts (${count})`, 'carts'),
    });
    progress.finishCell();
    signal.throwIfAborted();
    throwOnErrors('creating carts', run);
    return run.results.sort((a, b) => a.index - b.index).map((t) => t.result);
  }
}

/** Fails with every distinct error of a run that must not have any. */
export function throwOnErrors(what: string, run: LoadRun<unknown>): void {
  if (run.errors.total === 0) return;
  const lines = run.errors.entries().map(([message, n]) => `  ${n} x ${message}`);
  throw new Error(`${what}: ${run.errors.total} requests failed:\n${lines.join('\n')}`);
}

/** Polls `read` every `everyMs` until `done` holds for what it read, or the deadline; returns the last reading. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs: number; everyMs?: number; signal: AbortSignal },
): Promise<{ value: T; met: boolean }> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal.throwIfAborted();
    const value = await read();
    if (done(value)) return { value, met: true };
    if (Date.now() >= deadline) return { value, met: false };
    await sleep(options.everyMs ?? 1000, undefined, { signal: options.signal });
  }
}
