import { setTimeout as sleep } from 'node:timers/promises';
import { describe, GaveUpError, type Answer, type ApiClient } from './api';
import { elapsed, log, Tally } from './log';

export type PaymentToken = 'tok_visa' | 'tok_chargeDeclined' | 'tok_timeout';
/** How a request is sent: once, twice in a row, or twice at once (the same Idempotency-Key each time). */
type Sending = 'once' | 'twice' | 'twice-concurrently';

export interface Cart {
  readonly cartId: string;
  readonly token: string;
}

export interface PlacedOrder {
  readonly orderId: string;
  readonly cart: Cart;
  readonly paymentToken: PaymentToken;
}

/** What the shoppers did and saw. */
export class SaleRecord {
  carts = 0;
  shoppersStarted = 0;
  shoppersDone = 0;
  readonly adds = new Tally();
  readonly changes = new Tally();
  readonly removes = new Tally();
  readonly duplicates = { adds: 0, checkouts: 0 };
  readonly orders: PlacedOrder[] = [];
  /** The latest expiry any hold was given: after it (and the orders), nothing may still be held. */
  lastExpiry = 0;
  /** Broken promises the shoppers saw themselves: a repeated Idempotency-Key answered differently. */
  readonly violations: string[] = [];
  /** Requests that kept failing past the retry budget, or shoppers that stopped on an error. */
  readonly unfinished: string[] = [];
  /** Answers outside the API's contract for that request (for instance a 404 for a line just added). */
  readonly unexpected = new Tally();
  /** The first few of each kind, with when and on what, to look them up in the logs and in Temporal. */
  readonly unexpectedExamples: string[] = [];

  unexpectedAnswer(what: string, detail: string): void {
    if ((this.unexpected.toJSON()[what] ?? 0) < 3) this.unexpectedExamples.push(`+${elapsed()}s ${what}: ${detail}`);
    this.unexpected.add(what);
  }
}

export interface SaleOptions {
  readonly api: ApiClient;
  readonly skus: readonly string[];
  readonly shoppers: number;
  readonly concurrency: number;
  /** No new shopper starts after this time (epoch ms). */
  readonly until: number;
  readonly seed: number;
  /** Mean pause between a shopper's steps. */
  readonly thinkMs: number;
  readonly signal: AbortSignal;
}

/** A small seeded generator (mulberry32), one per shopper: a seed replays every shopper's choices. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs the flash sale: `shoppers` shoppers, `concurrency` at a time. Each creates a cart and adds one or two
 * SKUs (quantity 1, sometimes 2), sometimes sending the same add twice — in a row or at once — with the same
 * Idempotency-Key; some change a quantity or remove a line; about 60% of those holding stock check out
 * (mostly tok_visa, some tok_chargeDeclined and tok_timeout), sometimes twice with the same key; the rest walk
 * away and let their holds expire.
 */
export async function runSale(options: SaleOptions, record: SaleRecord): Promise<SaleRecord> {
  const progress = setInterval(() => {
    const { api } = options;
    log(
      `load: ${record.shoppersDone}/${options.shoppers} shoppers done, ${api.requests} requests, ` +
        `${api.retries} retried, ${record.orders.length} orders placed`,
    );
  }, 10_000);
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (record.shoppersStarted < options.shoppers && Date.now() < options.until) {
          const index = record.shoppersStarted++;
          try {
            await shop(options, record, index);
          } catch (err) {
            options.signal.throwIfAborted();
            const message = err instanceof Error ? err.message : String(err);
            record.unfinished.push(`shopper ${index}: ${err instanceof GaveUpError ? '' : 'error: '}${message}`);
          }
          record.shoppersDone++;
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
  const never = options.shoppers - record.shoppersStarted;
  if (never > 0) log(`load: time is up; ${never} shoppers never started`);
  return record;
}

async function shop(options: SaleOptions, record: SaleRecord, index: number): Promise<void> {
  const { api, signal } = options;
  const random = generator(options.seed ^ Math.imul(index + 1, 0x9e3779b1));
  const chance = (p: number) => random() < p;
  const think = () => sleep(random() * 2 * options.thinkMs, undefined, { signal });
  const sending = (twiceShare: number): Sending =>
    !chance(twiceShare) ? 'once' : chance(0.5) ? 'twice' : 'twice-concurrently';

  const created = await api.send<Cart>('POST', '/v1/carts', 'create cart');
  if (created.status !== 201) {
    record.unexpectedAnswer(`create cart: ${describe(created)}`, JSON.stringify(created.body));
    return;
  }
  const cart = created.body;
  record.carts++;
  const asCart = { token: cart.token };

  const held: { holdId: string; quantity: number }[] = [];
  const skus = [...options.skus].sort(() => random() - 0.5).slice(0, chance(0.6) ? 1 : 2);
  for (const [n, sku] of skus.entries()) {
    const quantity = chance(0.8) ? 1 : 2;
    const how = sending(0.3);
    const answers = await send(how, () =>
      api.send<HoldAnswer>('POST', `/v1/carts/${cart.cartId}/items`, 'add to cart', {
        ...asCart,
        idempotencyKey: `add-${n}`,
        body: { sku, quantity },
      }),
    );
    const first = answers[0]!;
    const outcome = first.status === 201 ? first.body.status : describe(first);
    if (!(first.status === 201 && first.body.status === 'held') && outcome !== '409 out_of_stock') {
      record.unexpectedAnswer(`add to cart: ${outcome}`, `cart ${cart.cartId} ${JSON.stringify(first.body)}`);
      continue;
    }
    record.adds.add(outcome === 'held' ? 'held' : 'out_of_stock');
    if (answers.length > 1) {
      record.duplicates.adds++;
      const [a, b] = answers.map((x) => `${x.status} ${x.body.holdId} ${x.body.status} ${x.body.expiresAt}`);
      if (a !== b) record.violations.push(`cart ${cart.cartId}: one Idempotency-Key, two answers: ${a} / ${b}`);
    }
    if (first.body.status === 'held') {
      held.push({ holdId: first.body.holdId, quantity });
      record.lastExpiry = Math.max(record.lastExpiry, Date.parse(first.body.expiresAt!));
    }
    await think();
  }

  if (held.length > 0 && chance(0.15)) {
    const line = held[Math.floor(random() * held.length)]!;
    const quantity = line.quantity === 1 ? 2 : 1;
    const answer = await api.send<HoldAnswer>(
      'PATCH',
      `/v1/carts/${cart.cartId}/items/${line.holdId}`,
      'change quantity',
      { ...asCart, body: { quantity } },
    );
    const outcome = answer.status === 200 ? answer.body.status : describe(answer);
    if (outcome === 'held') {
      line.quantity = quantity;
      record.lastExpiry = Math.max(record.lastExpiry, Date.parse(answer.body.expiresAt!));
    }
    const known = ['held', '409 out_of_stock', '409 line_not_pending', '409 line_busy', '409 line_locked'];
    if (known.includes(outcome)) record.changes.add(outcome);
    else record.unexpectedAnswer(`change quantity: ${outcome}`, `line ${line.holdId} ${JSON.stringify(answer.body)}`);
  }
  if (held.length > 0 && chance(0.15)) {
    const [line] = held.splice(Math.floor(random() * held.length), 1);
    const answer = await api.send<HoldAnswer>(
      'DELETE',
      `/v1/carts/${cart.cartId}/items/${line!.holdId}`,
      'remove line',
      asCart,
    );
    const outcome = answer.status === 200 ? answer.body.status : describe(answer);
    if (['removed', '409 line_not_pending', '409 line_locked'].includes(outcome)) record.removes.add(outcome);
    else record.unexpectedAnswer(`remove line: ${outcome}`, `line ${line!.holdId} ${JSON.stringify(answer.body)}`);
  }
  await think();

  if (held.length === 0 || !chance(0.6)) return; // walks away: the holds expire
  const r = random();
  const paymentToken: PaymentToken = r < 0.7 ? 'tok_visa' : r < 0.85 ? 'tok_chargeDeclined' : 'tok_timeout';
  const answers = await send(sending(0.2), () =>
    api.send<{ orderId: string }>('POST', `/v1/carts/${cart.cartId}/checkout`, 'checkout', {
      ...asCart,
      idempotencyKey: 'checkout',
      body: { paymentToken },
    }),
  );
  const first = answers[0]!;
  if (first.status !== 202) {
    record.unexpectedAnswer(`checkout: ${describe(first)}`, `cart ${cart.cartId} ${JSON.stringify(first.body)}`);
    return;
  }
  if (answers.length > 1) {
    record.duplicates.checkouts++;
    const ids = answers.map((a) => `${a.status} ${a.body.orderId}`);
    if (new Set(ids).size > 1) {
      record.violations.push(`cart ${cart.cartId}: one checkout Idempotency-Key, two answers: ${ids.join(' / ')}`);
    }
  }
  record.orders.push({ orderId: first.body.orderId, cart, paymentToken });
}

interface HoldAnswer {
  readonly holdId: string;
  readonly status: string;
  readonly quantity?: number;
  readonly expiresAt?: string;
  readonly error?: string;
}

async function send<T>(how: Sending, request: () => Promise<Answer<T>>): Promise<Answer<T>[]> {
  if (how === 'once') return [await request()];
  if (how === 'twice') return [await request(), await request()];
  return Promise.all([request(), request()]);
}
