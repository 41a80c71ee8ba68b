import { setTimeout as sleep } from 'node:timers/promises';
import type { CartLine, ErrorBody, Hold, ResponseBody } from '../../src/client';
import { describe, GaveUpError, type Answer, type ApiClient } from './api';
import { runLoad } from '../../bench/harness/load';
import { Tally } from '../../bench/harness/tally';
import { elapsed, log } from './log';

export type PaymentToken = 'tok_visa' | 'tok_chargeDeclined' | 'tok_timeout';
/** How a request is sent: once, twice in a row, or twice at once (the same Idempotency-Key each time). */
type Sending = 'once' | 'twice' | 'twice-concurrently';

export interface Cart {
  readonly cartId: string;
  readonly token: string;
}

/** How a cart was checked out. */
export type CheckoutWay = 'one tab' | 'two tabs' | 'changing a quantity';

export interface PlacedOrder {
  readonly orderId: string;
  readonly cart: Cart;
  readonly paymentToken: PaymentToken;
  readonly via: CheckoutWay;
}

/** A line of the backorder SKU that add-to-cart answered `backordered`: followed to the end of the run. */
export interface BackorderLine {
  readonly cart: Cart;
  readonly holdId: string;
  readonly quantity: number;
}

/** A cart line as GET /v1/carts/:cartId shows it (cartLineSchema: the stored line without its holds). */
export type LineView = Pick<CartLine, 'holdId' | 'sku' | 'quantity' | 'status' | 'expiresAt' | 'orderId'>;

/** A restock ops sent and the API accepted (202). */
export interface Restock {
  readonly at: number;
  readonly quantity: number;
  readonly opId: string;
}

/** What the shoppers, and ops beside them, did and saw. */
export class SaleRecord {
  carts = 0;
  shoppersStarted = 0;
  shoppersDone = 0;
  readonly adds = new Tally();
  readonly changes = new Tally();
  readonly removes = new Tally();
  readonly duplicates = { adds: 0, checkouts: 0, restocks: 0 };
  /** Carts checked out from two tabs at once (two Idempotency-Keys): one checkout runs, the other is refused. */
  readonly doubleCheckouts = { tried: 0, refused: 0, bothAccepted: 0 };
  /** Quantity changes sent at the moment of the cart's checkout, by answer. */
  readonly changesDuringCheckout = new Tally();
  readonly backorderLines: BackorderLine[] = [];
  /** Backordered lines that were filled while their shopper waited at the cart. */
  filledWhileWaiting = 0;
  /** Shoppers removing a backordered line, by answer. */
  readonly backorderRemoves = new Tally();
  readonly restocks: Restock[] = [];
  /** Ops moving a waiting backorder to the head of the queue, by answer. */
  readonly reprioritised = new Tally();
  readonly orders: PlacedOrder[] = [];
  /** Every add-to-cart of a strict SKU with its answer and when it was sent and answered (epoch ms). */
  readonly strictAdds: {
    readonly sku: string;
    readonly outcome: string;
    readonly from: number;
    readonly to: number;
  }[] = [];
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

  /** A hold the shoppers were told lapses at `expiresAt`: the settle wait runs past the latest. */
  heldUntil(expiresAt: string | undefined): void {
    if (expiresAt) this.lastExpiry = Math.max(this.lastExpiry, Date.parse(expiresAt));
  }
}

export interface SaleOptions {
  readonly api: ApiClient;
  /** The strict SKUs on sale. */
  readonly skus: readonly string[];
  /** The backorder-policy SKU: few units, restocked by ops during the sale. */
  readonly backorderSku: string;
  readonly shoppers: number;
  readonly concurrency: number;
  /** No new shopper starts after this many seconds. */
  readonly maxLoadSeconds: number;
  readonly seed: number;
  /** Mean pause between a shopper's steps. */
  readonly thinkMs: number;
  /** How long a shopper with a backordered line waits at the cart for it to be filled. */
  readonly fillWaitMs: number;
  readonly signal: AbortSignal;
}

/** Share of shoppers who want the backorder SKU. */
const backorderShare = 0.25;
/** What a quantity change may answer, during a checkout or not. */
const changeAnswers = ['held', '409 out_of_stock', '409 line_not_pending', '409 line_busy', '409 line_locked'];

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
 * strict SKUs (quantity 1, sometimes 2), or the backorder SKU; sometimes it sends the same add twice — in a row
 * or at once — with the same Idempotency-Key; some change a quantity or remove a line. A shopper whose line was
 * backordered removes it, or waits a while at the cart for it to be filled. About 60% of those holding stock
 * check out (mostly tok_visa, some tok_chargeDeclined and tok_timeout): some twice with the same key, some from
 * two tabs at once (two keys), some while changing a line's quantity; the rest walk away and let their holds
 * expire.
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
    await runLoad({
      total: options.shoppers,
      seconds: options.maxLoadSeconds,
      concurrency: options.concurrency,
      signal: options.signal,
      send: async (index) => {
        record.shoppersStarted++;
        try {
          await Shopper.shop(options, record, index);
        } catch (err) {
          options.signal.throwIfAborted();
          const message = err instanceof Error ? err.message : String(err);
          record.unfinished.push(`shopper ${index}: ${err instanceof GaveUpError ? '' : 'error: '}${message}`);
        }
        record.shoppersDone++;
      },
    });
  } finally {
    clearInterval(progress);
  }
  options.signal.throwIfAborted();
  const never = options.shoppers - record.shoppersStarted;
  if (never > 0) log(`load: time is up; ${never} shoppers never started`);
  return record;
}

/** 201 a hold, or an error body (409 out_of_stock names the line); holdId and status are read from 201s only. */
type HoldAnswer = Pick<Hold, 'holdId' | 'status'> & Partial<Hold> & Partial<ErrorBody>;

/** 202 `{ orderId }`, or an error body; 409 checkout_in_progress names the running order when it can. */
type CheckoutAnswer = Partial<ResponseBody<'checkoutCart', 202>> & Partial<ErrorBody>;

interface HeldLine {
  readonly holdId: string;
  quantity: number;
}

/** One shopper's session, its choices drawn from its own seeded generator. */
class Shopper {
  private readonly held: HeldLine[] = [];
  private readonly backordered: BackorderLine[] = [];

  private constructor(
    private readonly options: SaleOptions,
    private readonly record: SaleRecord,
    private readonly cart: Cart,
    private readonly random: () => number,
  ) {}

  static async shop(options: SaleOptions, record: SaleRecord, index: number): Promise<void> {
    const created = await options.api.send<Cart>('POST', '/v1/carts', 'create cart');
    if (created.status !== 201) {
      record.unexpectedAnswer(`create cart: ${describe(created)}`, JSON.stringify(created.body));
      return;
    }
    record.carts++;
    const random = generator(options.seed ^ Math.imul(index + 1, 0x9e3779b1));
    await new Shopper(options, record, created.body, random).run();
  }

  private get api(): ApiClient {
    return this.options.api;
  }

  private get asCart() {
    return { token: this.cart.token };
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private think(): Promise<void> {
    return sleep(this.random() * 2 * this.options.thinkMs, undefined, { signal: this.options.signal });
  }

  private sending(twiceShare: number): Sending {
    return !this.chance(twiceShare) ? 'once' : this.chance(0.5) ? 'twice' : 'twice-concurrently';
  }

  private paymentToken(): PaymentToken {
    const r = this.random();
    return r < 0.7 ? 'tok_visa' : r < 0.85 ? 'tok_chargeDeclined' : 'tok_timeout';
  }

  private async run(): Promise<void> {
    const strict = [...this.options.skus].sort(() => this.random() - 0.5).slice(0, this.chance(0.6) ? 1 : 2);
    const skus = this.chance(backorderShare)
      ? [this.options.backorderSku, ...strict.slice(0, this.chance(0.5) ? 1 : 0)]
      : strict;
    for (const [n, sku] of skus.entries()) {
      await this.add(`add-${n}`, sku, this.chance(0.8) ? 1 : 2);
      await this.think();
    }

    if (this.held.length > 0 && this.chance(0.15)) {
      const line = this.pick(this.held);
      const outcome = await this.changeQuantity(line, line.quantity === 1 ? 2 : 1);
      if (changeAnswers.includes(outcome)) this.record.changes.add(outcome);
      else this.record.unexpectedAnswer(`change quantity: ${outcome}`, `line ${line.holdId}`);
    }
    if (this.held.length > 0 && this.chance(0.15)) {
      const [line] = this.held.splice(Math.floor(this.random() * this.held.length), 1);
      const outcome = await this.remove(line!.holdId);
      if (['removed', '409 line_not_pending', '409 line_locked'].includes(outcome)) this.record.removes.add(outcome);
      else this.record.unexpectedAnswer(`remove line: ${outcome}`, `line ${line!.holdId}`);
    }
    await this.waitOrRemoveBackorders();
    await this.think();

    if (this.held.length === 0 || !this.chance(0.6)) return; // walks away: the holds expire
    const paymentToken = this.paymentToken();
    const r = this.random();
    if (r < 0.3) await this.checkoutFromTwoTabs(paymentToken);
    else if (r < 0.6) await this.checkoutWhileChanging(paymentToken);
    else await this.checkout(paymentToken);
  }

  private async add(key: string, sku: string, quantity: number): Promise<void> {
    const { cartId } = this.cart;
    const from = Date.now();
    const answers = await send(this.sending(0.3), () =>
      this.api.send<HoldAnswer>('POST', `/v1/carts/${cartId}/items`, 'add to cart', {
        ...this.asCart,
        idempotencyKey: key,
        body: { sku, quantity },
      }),
    );
    const first = answers[0]!;
    const outcome = first.status === 201 ? first.body.status : describe(first);
    const expected = sku === this.options.backorderSku ? ['held', 'backordered'] : ['held', '409 out_of_stock'];
    if (sku !== this.options.backorderSku) this.record.strictAdds.push({ sku, outcome, from, to: Date.now() });
    if (!expected.includes(outcome)) {
      this.record.unexpectedAnswer(`add to cart: ${outcome}`, `cart ${cartId} ${sku} ${JSON.stringify(first.body)}`);
      return;
    }
    this.record.adds.add(outcome === '409 out_of_stock' ? 'out_of_stock' : outcome);
    if (answers.length > 1) {
      this.record.duplicates.adds++;
      const [a, b] = answers.map((x) => `${x.status} ${x.body.holdId} ${x.body.status} ${x.body.expiresAt}`);
      // A backorder filled between the two requests answers with the line as it is now.
      const filledMeanwhile =
        answers[0]!.body.holdId === answers[1]!.body.holdId &&
        new Set(answers.map((x) => x.body.status)).size === 2 &&
        answers.every((x) => ['backordered', 'held'].includes(x.body.status));
      if (a !== b && !filledMeanwhile) {
        this.record.violations.push(`cart ${cartId}: one Idempotency-Key, two answers: ${a} / ${b}`);
      }
    }
    if (outcome === 'held') {
      this.held.push({ holdId: first.body.holdId, quantity });
      this.record.heldUntil(first.body.expiresAt);
    } else if (outcome === 'backordered') {
      const line = { cart: this.cart, holdId: first.body.holdId, quantity };
      this.backordered.push(line);
      this.record.backorderLines.push(line);
    }
  }

  /** PATCH the line's quantity; `held` or the error, as the summary counts it. */
  private async changeQuantity(line: HeldLine, quantity: number): Promise<string> {
    const answer = await this.api.send<HoldAnswer>(
      'PATCH',
      `/v1/carts/${this.cart.cartId}/items/${line.holdId}`,
      'change quantity',
      { ...this.asCart, body: { quantity } },
    );
    const outcome = answer.status === 200 ? answer.body.status : describe(answer);
    if (outcome === 'held') {
      line.quantity = quantity;
      this.record.heldUntil(answer.body.expiresAt);
    }
    return outcome;
  }

  private async remove(holdId: string): Promise<string> {
    const answer = await this.api.send<HoldAnswer>(
      'DELETE',
      `/v1/carts/${this.cart.cartId}/items/${holdId}`,
      'remove line',
      this.asCart,
    );
    return answer.status === 200 ? answer.body.status : describe(answer);
  }

  /**
   * Some shoppers give up on a backordered line and remove it (it may be filled meanwhile: then they remove a
   * held line); the others wait a while at the cart, and a line filled meanwhile is held like any other.
   */
  private async waitOrRemoveBackorders(): Promise<void> {
    const waiting: BackorderLine[] = [];
    for (const line of this.backordered) {
      if (!this.chance(0.3)) {
        waiting.push(line);
        continue;
      }
      await this.think();
      const outcome = await this.remove(line.holdId);
      if (outcome === 'removed' || /^(404|409) /.test(outcome)) this.record.backorderRemoves.add(outcome);
      else this.record.unexpectedAnswer(`remove backorder: ${outcome}`, `line ${line.holdId}`);
    }
    const until = Date.now() + this.options.fillWaitMs;
    while (waiting.length > 0 && Date.now() < until) {
      await sleep(750 + this.random() * 500, undefined, { signal: this.options.signal });
      const answer = await this.api.send<{ lines: LineView[] }>('GET', `/v1/carts/${this.cart.cartId}`, 'read cart', {
        ...this.asCart,
      });
      if (answer.status !== 200) {
        this.record.unexpectedAnswer(`read cart: ${describe(answer)}`, `cart ${this.cart.cartId}`);
        return;
      }
      for (const line of [...waiting]) {
        const view = answer.body.lines.find((l) => l.holdId === line.holdId);
        if (view?.status === 'backordered') continue;
        waiting.splice(waiting.indexOf(line), 1);
        if (view?.status === 'pending') {
          this.record.filledWhileWaiting++;
          this.held.push({ holdId: line.holdId, quantity: view.quantity });
          this.record.heldUntil(view.expiresAt);
        } else if (view?.status !== 'expired') {
          // Expired: filled, and lapsed before the next read came back (a read retried through a fault).
          this.record.unexpectedAnswer(`backordered line: ${view?.status ?? 'missing'}`, `line ${line.holdId}`);
        }
      }
    }
  }

  private postCheckout(key: string, paymentToken: PaymentToken): Promise<Answer<CheckoutAnswer>> {
    return this.api.send<CheckoutAnswer>('POST', `/v1/carts/${this.cart.cartId}/checkout`, 'checkout', {
      ...this.asCart,
      idempotencyKey: key,
      body: { paymentToken },
    });
  }

  /** Follows an accepted checkout (202) to its end; anything else is outside the contract. */
  private placed(answer: Answer<CheckoutAnswer>, paymentToken: PaymentToken, via: CheckoutWay): void {
    if (answer.status !== 202 || !answer.body.orderId) {
      const what = `checkout (${via}): ${describe(answer)}`;
      this.record.unexpectedAnswer(what, `cart ${this.cart.cartId} ${JSON.stringify(answer.body)}`);
      return;
    }
    this.record.orders.push({ orderId: answer.body.orderId, cart: this.cart, paymentToken, via });
  }

  /** One checkout, sometimes sent twice (in a row or at once) with the same Idempotency-Key. */
  private async checkout(paymentToken: PaymentToken): Promise<void> {
    const answers = await send(this.sending(0.2), () => this.postCheckout('checkout', paymentToken));
    if (answers.length > 1 && answers[0]!.status === 202) {
      this.record.duplicates.checkouts++;
      const ids = answers.map((a) => `${a.status} ${a.body.orderId}`);
      if (new Set(ids).size > 1) {
        this.record.violations.push(
          `cart ${this.cart.cartId}: one checkout Idempotency-Key, two answers: ${ids.join(' / ')}`,
        );
      }
    }
    this.placed(answers[0]!, paymentToken, 'one tab');
  }

  /**
   * Two tabs check the cart out at once, each with its own key (and its own card): one checkout of a cart runs
   * at a time, so one is accepted and the other refused 409 checkout_in_progress — or both accepted, when the
   * first ended before the second started. Whichever was accepted is followed.
   */
  private async checkoutFromTwoTabs(paymentToken: PaymentToken): Promise<void> {
    const { cartId } = this.cart;
    const tabs = [
      { key: 'checkout', paymentToken },
      { key: 'checkout-tab-2', paymentToken: this.paymentToken() },
    ];
    this.record.doubleCheckouts.tried++;
    const answers = await Promise.all(tabs.map((t) => this.postCheckout(t.key, t.paymentToken)));
    const accepted = answers.map((a) => (a.status === 202 ? a.body.orderId : undefined));
    for (const [i, answer] of answers.entries()) {
      if (answer.status === 202) {
        this.placed(answer, tabs[i]!.paymentToken, 'two tabs');
        continue;
      }
      if (describe(answer) !== '409 checkout_in_progress') {
        this.record.unexpectedAnswer(`checkout (two tabs): ${describe(answer)}`, `cart ${cartId}`);
        continue;
      }
      this.record.doubleCheckouts.refused++;
      const running = answer.body.orderId;
      if (running && !accepted.includes(running)) {
        this.record.violations.push(`cart ${cartId}: a tab was refused for order ${running}, which no tab was given`);
      }
    }
    const n = accepted.filter((id) => id !== undefined).length;
    if (n === 2) this.record.doubleCheckouts.bothAccepted++;
    if (n === 0) this.record.unexpectedAnswer('checkout (two tabs): neither tab accepted', `cart ${cartId}`);
  }

  /**
   * Changes a line's quantity (up or down) at the moment the cart checks out: the change lands before the
   * checkout locks the line (and the order buys the new quantity), or is refused because the line is locked,
   * busy or bought.
   */
  private async checkoutWhileChanging(paymentToken: PaymentToken): Promise<void> {
    const line = this.pick(this.held);
    const quantity = line.quantity === 1 ? 2 : 1;
    // Either request may go first, by a few milliseconds: both orders of arrival get tried.
    const lag = this.random() * 100;
    const [checkoutLag, changeLag] = this.chance(0.5) ? [0, lag] : [lag, 0];
    const { signal } = this.options;
    const [answer, outcome] = await Promise.all([
      sleep(checkoutLag, undefined, { signal }).then(() => this.postCheckout('checkout', paymentToken)),
      sleep(changeLag, undefined, { signal }).then(() => this.changeQuantity(line, quantity)),
    ]);
    if (changeAnswers.includes(outcome)) this.record.changesDuringCheckout.add(outcome);
    else this.record.unexpectedAnswer(`change during checkout: ${outcome}`, `line ${line.holdId}`);
    this.placed(answer, paymentToken, 'changing a quantity');
  }
}

async function send<T>(how: Sending, request: () => Promise<Answer<T>>): Promise<Answer<T>[]> {
  if (how === 'once') return [await request()];
  if (how === 'twice') return [await request(), await request()];
  return Promise.all([request(), request()]);
}
