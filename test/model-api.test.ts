/**
 * A stateful model-based test of the public HTTP API, against the real stack (Temporal, FerretDB, a worker)
 * through `app.inject`. fast-check generates sequences of shopper and ops commands (add, a retried add, change a
 * quantity, remove, checkout, two checkouts at once, restock, cancel and reprioritise a backorder, wait past the
 * hold TTL), some of them two at a time (two tabs), over two SKUs: a strict one with a few units and a backorder
 * one with none or a few. A plain model keeps what is certain (units received, each line's answers, each order's
 * card); it does not predict races. After each sequence the test waits until the store is at rest and checks
 * that the system check is clean and that money and stock equal the model's.
 *
 *   npm test                 3 random sequences of 8-15 commands and the regression cases (under a minute)
 *   MODEL_RUNS=60 npx vitest run test/model-api.test.ts     a longer search (a sequence takes ~10 s)
 *   MODEL_COMMANDS=25        longer sequences (up to that many commands)
 *   MODEL_SEED=<seed>        one seed again (fast-check prints it with every failure)
 *   MODEL_SHRINK=1           shrink a failure (slow: every shrink step is a real run)
 *
 * The stack is real, so a seed replays the same commands but not necessarily the same interleaving: a
 * regression case below fails when its race comes back, not on every run.
 */
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Order } from '../src/contract/types';
import { startTestApi } from './api-helpers';
import { uniqueId } from './helpers';
import { ApiCalls, waitUntilQuiet, type CartRef, type Reply } from './model-helpers';

const ttlSeconds = 4;
const runs = Number(process.env.MODEL_RUNS ?? 3);
const maxCommands = Math.max(8, Number(process.env.MODEL_COMMANDS ?? 15));
/** Per sequence: setup, the commands, at most one wait past the TTL, coming to rest, the checks. */
const perRunMs = 60_000;

// ---- the model ----

interface SkuModel {
  readonly sku: string;
  readonly policy: 'strict' | 'backorder';
  readonly priceCents: number;
  /** Units received for sure: the initial stock and every restock answered 202. */
  received: number;
  /** Units that may have been received by now: `received` and the restocks in flight (counted before sent). */
  mayHaveReceived: number;
}

interface LineModel {
  readonly cart: CartModel;
  readonly sku: SkuModel;
  readonly key: string;
  readonly quantity: number;
  /** The add's first answer, which a retry with its key must replay; unset while in flight or after a 5xx. */
  first?: Reply;
  holdId?: string;
  /** What the add answered; `refused` (409 out_of_stock) leaves no line behind. */
  answer?: 'held' | 'backordered' | 'refused';
  /** DELETE answered `removed`: the line stays removed. */
  removed: boolean;
  /** Every quantity the API acknowledged for the line: an order buys one of them. */
  readonly quantities: Set<number>;
}

interface OrderModel {
  readonly cart: CartModel;
  readonly orderId: string;
  readonly paymentToken: string;
}

interface CartModel extends CartRef {
  readonly lines: LineModel[];
  readonly orders: OrderModel[];
  /** Checkout requests sent for the cart, answered or not. */
  checkouts: number;
}

class Model {
  readonly carts: CartModel[] = [];
  waitsLeft = 1;
  private keys = 0;

  constructor(readonly skus: readonly [SkuModel, SkuModel]) {}

  key(what: string): string {
    return `${what}-${++this.keys}`;
  }

  /** Lines whose id is known (answered), optionally of one policy. */
  lines(policy?: SkuModel['policy']): LineModel[] {
    return this.carts
      .flatMap((c) => c.lines)
      .filter((l) => l.holdId !== undefined && (!policy || l.sku.policy === policy));
  }

  /** Lines whose add was answered (refusals too). */
  answered(): LineModel[] {
    return this.carts.flatMap((c) => c.lines).filter((l) => l.first !== undefined);
  }

  addOrder(cart: CartModel, orderId: string, paymentToken: string) {
    if (!cart.orders.some((o) => o.orderId === orderId)) cart.orders.push({ cart, orderId, paymentToken });
  }
}

type Command = fc.AsyncCommand<Model, ApiCalls>;

const pick = <T>(items: readonly T[], n: number): T => items[n % items.length]!;
const withoutRequestId = (body: unknown) => {
  const { requestId, ...rest } = body as Record<string, unknown>;
  return rest;
};
const lag = async (ms: number, run: () => Promise<void>) => {
  if (ms > 0) await sleep(ms);
  await run();
};
const lagged = (ms: number) => (ms > 0 ? `${ms} ms later ` : '');
const errorOf = (r: Reply) => r.body.error as string | undefined;
const answered = (r: Reply<unknown>) => `${r.status} ${r.raw}`;

/** A command on one cart, picked from the model's when it runs. */
abstract class CartCommand implements Command {
  constructor(readonly cartPick: number) {}
  check(m: Readonly<Model>) {
    return m.carts.length > 0;
  }
  run(m: Model, api: ApiCalls) {
    return this.on(m, api, pick(m.carts, this.cartPick));
  }
  abstract on(m: Model, api: ApiCalls, cart: CartModel): Promise<void>;
}

/** A command on one line that exists (its add answered held or backordered), picked when it runs. */
abstract class LineCommand implements Command {
  constructor(readonly linePick: number) {}
  protected candidates(m: Readonly<Model>): LineModel[] {
    return m.lines();
  }
  check(m: Readonly<Model>) {
    return this.candidates(m).length > 0;
  }
  run(m: Model, api: ApiCalls) {
    return this.on(m, api, pick(this.candidates(m), this.linePick));
  }
  abstract on(m: Model, api: ApiCalls, line: LineModel): Promise<void>;
}

// ---- the commands ----

class CreateCart implements Command {
  check(m: Readonly<Model>) {
    return m.carts.length < 3;
  }
  async run(m: Model, api: ApiCalls) {
    const r = await api.createCart();
    if (r.status !== 201) return api.note(`${this}: ${answered(r)}`);
    const { cartId, token } = r.body;
    m.carts.push({ cartId, token, lines: [], orders: [], checkouts: 0 });
  }
  toString() {
    return 'createCart';
  }
}

/** Adds a line; `doubleClick` sends the same request (same Idempotency-Key) twice at once. */
class AddItem extends CartCommand {
  constructor(
    cartPick: number,
    readonly skuPick: 0 | 1,
    readonly quantity: number,
    readonly doubleClick: boolean,
  ) {
    super(cartPick);
  }
  override async on(m: Model, api: ApiCalls, cart: CartModel) {
    const sku = m.skus[this.skuPick];
    const line: LineModel = {
      cart,
      sku,
      key: m.key('add'),
      quantity: this.quantity,
      removed: false,
      quantities: new Set(),
    };
    cart.lines.push(line);
    const body = { sku: sku.sku, quantity: this.quantity };
    const replies = await Promise.all(
      Array.from({ length: this.doubleClick ? 2 : 1 }, () => api.addItem(cart, line.key, body)),
    );
    // Read after the answer: a restock from another tab may have landed before it.
    const couldHave = sku.mayHaveReceived;
    const seen = replies.map((r) => this.answerOf(r, cart, sku, couldHave, api));
    if (seen.includes(undefined)) return;
    const [a, b] = replies as [Reply, Reply | undefined];
    if (b && (a.status !== b.status || !isDeepStrictEqual(withoutRequestId(a.body), withoutRequestId(b.body)))) {
      api.note(`${this}: twins with one key answered differently: ${answered(a)} / ${answered(b)}`);
    }
    line.first = a;
    line.answer = seen[0];
    // A refusal names no line (there is none): only a line that exists can be changed or removed.
    if (line.answer !== 'refused') {
      line.holdId = a.body.holdId as string;
      line.quantities.add(this.quantity);
    }
  }
  private answerOf(r: Reply, cart: CartModel, sku: SkuModel, couldHave: number, api: ApiCalls) {
    const fail = (why: string) => api.note(`${this} (${sku.policy}, ≤${couldHave} received): ${why}: ${answered(r)}`);
    if (r.status === 201 && (typeof r.body.holdId !== 'string' || !r.body.holdId.startsWith(`${cart.cartId}.`))) {
      fail('no line id of this cart');
      return undefined;
    }
    if (r.status === 201 && r.body.status === 'held') {
      const expiresAt = Date.parse(r.body.expiresAt as string);
      if (r.body.quantity !== this.quantity) fail('held another quantity');
      if (this.quantity > couldHave) fail('held more units than were ever received');
      if (!(expiresAt > Date.now() && expiresAt <= Date.now() + (ttlSeconds + 2) * 1000))
        fail('expiry not within the TTL');
      return 'held' as const;
    }
    if (r.status === 201 && r.body.status === 'backordered') {
      if (sku.policy !== 'backorder') fail('backordered a strict SKU');
      if (r.body.quantity !== this.quantity) fail('backordered another quantity');
      return 'backordered' as const;
    }
    if (r.status === 409 && errorOf(r) === 'out_of_stock') {
      if (sku.policy !== 'strict') fail('refused a backorder SKU');
      return 'refused' as const;
    }
    fail('unexpected answer');
    return undefined;
  }
  override toString() {
    const sku = this.skuPick === 0 ? 'strict' : 'backorder';
    return `add(cart ${this.cartPick}, ${sku} × ${this.quantity}${this.doubleClick ? ', double click' : ''})`;
  }
}

/** Sends an earlier add again, same key and body (refusals too): it must replay the first answer. */
class RetryAdd implements Command {
  constructor(readonly linePick: number) {}
  check(m: Readonly<Model>) {
    return m.answered().length > 0;
  }
  async run(m: Model, api: ApiCalls) {
    const line = pick(m.answered(), this.linePick);
    const first = line.first!;
    const r = await api.addItem(line.cart, line.key, { sku: line.sku.sku, quantity: line.quantity });
    if (r.status !== first.status || !isDeepStrictEqual(withoutRequestId(r.body), withoutRequestId(first.body))) {
      api.note(`${this}: a retry of ${line.key} answered ${answered(r)}, first ${answered(first)}`);
    } else if (!r.replayed) {
      api.note(`${this}: a retry of ${line.key} was not a replay`);
    }
  }
  toString() {
    return `retryAdd(line ${this.linePick})`;
  }
}

class ChangeQuantity extends LineCommand {
  constructor(
    linePick: number,
    readonly quantity: number,
  ) {
    super(linePick);
  }
  override async on(_m: Model, api: ApiCalls, line: LineModel) {
    const wasRemoved = line.removed;
    const r = await api.changeQuantity(line.cart, line.holdId!, this.quantity);
    const couldHave = line.sku.mayHaveReceived;
    const fail = (why: string) => api.note(`${this} of ${line.holdId}: ${why}: ${answered(r)}`);
    if (r.status === 200) {
      if (r.body.status !== 'held' || r.body.quantity !== this.quantity) fail('not held at the new quantity');
      if (wasRemoved) fail('changed a removed line');
      if (this.quantity > couldHave) fail('held more units than were ever received');
      line.quantities.add(this.quantity);
    } else if (
      r.status === 409 &&
      ['out_of_stock', 'line_not_pending', 'line_locked', 'line_busy'].includes(errorOf(r)!)
    ) {
      if (wasRemoved && errorOf(r) !== 'line_not_pending') fail('a removed line should answer line_not_pending');
    } else {
      fail('unexpected answer');
    }
  }
  override toString() {
    return `change(line ${this.linePick} → ${this.quantity})`;
  }
}

class RemoveLine extends LineCommand {
  override async on(_m: Model, api: ApiCalls, line: LineModel) {
    const wasRemoved = line.removed;
    const r = await api.removeLine(line.cart, line.holdId!);
    const fail = (why: string) => api.note(`${this} of ${line.holdId}: ${why}: ${answered(r)}`);
    if (r.status === 200) {
      if (r.body.status !== 'removed' || r.body.holdId !== line.holdId) fail('not removed');
      line.removed = true;
    } else if (r.status === 409 && ['line_not_pending', 'line_locked'].includes(errorOf(r)!)) {
      if (wasRemoved) fail('removing a removed line again must answer removed');
    } else {
      fail('unexpected answer');
    }
  }
  override toString() {
    return `remove(line ${this.linePick})`;
  }
}

/** A checkout; `retry` sends it again with its key, which must answer with the same order. */
class Checkout extends CartCommand {
  constructor(
    cartPick: number,
    readonly paymentToken: string,
    readonly retry: boolean,
  ) {
    super(cartPick);
  }
  override async on(m: Model, api: ApiCalls, cart: CartModel) {
    const key = m.key('pay');
    cart.checkouts++;
    const r = await api.checkout(cart, key, this.paymentToken);
    checkoutAnswer(this, m, cart, r, this.paymentToken, api);
    if (!this.retry) return;
    cart.checkouts++;
    const again = await api.checkout(cart, key, this.paymentToken);
    checkoutAnswer(this, m, cart, again, this.paymentToken, api);
    if (r.status === 202 && (again.status !== 202 || again.body.orderId !== r.body.orderId || !again.replayed)) {
      api.note(`${this}: the retry answered ${answered(again)}, first ${answered(r)}`);
    }
  }
  override toString() {
    return `checkout(cart ${this.cartPick}, ${this.paymentToken}${this.retry ? ', retried' : ''})`;
  }
}

/** Two checkouts of one cart at once with different keys: one runs, the other is refused or runs after it. */
class DoubleCheckout extends CartCommand {
  constructor(
    cartPick: number,
    readonly paymentTokens: readonly [string, string],
  ) {
    super(cartPick);
  }
  override async on(m: Model, api: ApiCalls, cart: CartModel) {
    const before = cart.checkouts;
    cart.checkouts += 2;
    const keys = [m.key('pay'), m.key('pay')];
    const replies = await Promise.all(this.paymentTokens.map((t, i) => api.checkout(cart, keys[i]!, t)));
    replies.forEach((r, i) => checkoutAnswer(this, m, cart, r, this.paymentTokens[i]!, api));
    // Refused both ways is only right while a third checkout of the cart runs.
    if (before === 0 && cart.checkouts === 2 && !replies.some((r) => r.status === 202)) {
      api.note(`${this}: neither of two checkouts of an idle cart ran: ${replies.map(answered).join(' / ')}`);
    }
  }
  override toString() {
    return `doubleCheckout(cart ${this.cartPick}, ${this.paymentTokens.join(' + ')})`;
  }
}

function checkoutAnswer(cmd: Command, m: Model, cart: CartModel, r: Reply, paymentToken: string, api: ApiCalls) {
  if (r.status === 202 && typeof r.body.orderId === 'string') m.addOrder(cart, r.body.orderId, paymentToken);
  else if (r.status !== 409 || errorOf(r) !== 'checkout_in_progress') api.note(`${cmd}: ${answered(r)}`);
}

/** A change or a removal of a line while its cart checks out, from another tab. */
class DuringCheckout extends LineCommand {
  constructor(
    readonly edit: ChangeQuantity | RemoveLine,
    readonly checkout: Checkout,
    /** The edit lands this much after the checkout was asked for: while the saga locks, charges or commits. */
    readonly lagMs: number,
  ) {
    super(edit.linePick);
  }
  override async on(m: Model, api: ApiCalls, line: LineModel) {
    await Promise.all([this.checkout.on(m, api, line.cart), lag(this.lagMs, () => this.edit.on(m, api, line))]);
  }
  override toString() {
    return `(${this.checkout} of its cart ‖ ${lagged(this.lagMs)}${this.edit})`;
  }
}

/** Ops receive units; `retry` sends the restock again with its key, which must not receive them twice. */
class Restock implements Command {
  constructor(
    readonly skuPick: 0 | 1,
    readonly quantity: number,
    readonly retry: boolean,
  ) {}
  check() {
    return true;
  }
  async run(m: Model, api: ApiCalls) {
    const sku = m.skus[this.skuPick];
    const key = m.key('restock');
    sku.mayHaveReceived += this.quantity;
    const r = await api.restock(sku.sku, key, this.quantity);
    if (r.status !== 202 || r.body.quantity !== this.quantity || r.body.sku !== sku.sku) {
      return api.note(`${this}: ${answered(r)}`);
    }
    sku.received += this.quantity;
    if (!this.retry) return;
    const again = await api.restock(sku.sku, key, this.quantity);
    if (again.status !== 202 || !isDeepStrictEqual(again.body, r.body) || !again.replayed) {
      api.note(`${this}: the retry answered ${answered(again)}, first ${answered(r)}`);
    }
  }
  toString() {
    return `restock(${this.skuPick === 0 ? 'strict' : 'backorder'} + ${this.quantity}${this.retry ? ', retried' : ''})`;
  }
}

/** A line of the backorder SKU, whether it still waits or not. */
abstract class BackorderCommand extends LineCommand {
  protected override candidates(m: Readonly<Model>) {
    return m.lines('backorder');
  }
}

class CancelBackorder extends BackorderCommand {
  override async on(_m: Model, api: ApiCalls, line: LineModel) {
    const wasRemoved = line.removed;
    const r = await api.cancelBackorder(line.sku.sku, line.holdId!);
    const fail = (why: string) => api.note(`${this} of ${line.holdId}: ${why}: ${answered(r)}`);
    const refused =
      (r.status === 404 && errorOf(r) === 'unknown_backorder') || (r.status === 409 && errorOf(r) === 'line_locked');
    if (r.status === 200) {
      if (r.body.status !== 'removed') fail('not removed');
      line.removed = true;
    } else if (refused) {
      if (wasRemoved) fail('cancelling a removed line again must answer removed');
    } else {
      fail('unexpected answer');
    }
  }
  override toString() {
    return `cancelBackorder(line ${this.linePick})`;
  }
}

class Reprioritise extends BackorderCommand {
  constructor(
    linePick: number,
    readonly position: number,
  ) {
    super(linePick);
  }
  override async on(_m: Model, api: ApiCalls, line: LineModel) {
    const r = await api.reprioritise(line.sku.sku, line.holdId!, this.position);
    const moved = r.status === 200 && r.body.holdId === line.holdId && r.body.position === this.position;
    if (!moved && !(r.status === 404 && errorOf(r) === 'unknown_backorder')) {
      api.note(`${this} of ${line.holdId}: ${answered(r)}`);
    }
  }
  override toString() {
    return `reprioritise(line ${this.linePick} → ${this.position})`;
  }
}

/** Real time: every hold made before it has lapsed (a line a checkout holds is not a hold that can lapse). */
class WaitPastTtl implements Command {
  check(m: Readonly<Model>) {
    return m.waitsLeft > 0;
  }
  async run(m: Model) {
    m.waitsLeft--;
    await sleep((ttlSeconds + 1) * 1000);
  }
  toString() {
    return `wait ${ttlSeconds + 1} s`;
  }
}

/** Two commands at once, as from two tabs. */
class TwoTabs implements Command {
  constructor(
    readonly a: Command,
    readonly b: Command,
    /** The second tab starts this much later: 0 races the requests, more races `b` with the work `a` started. */
    readonly lagMs: number,
  ) {}
  check(m: Readonly<Model>) {
    return this.a.check(m) && this.b.check(m);
  }
  async run(m: Model, api: ApiCalls) {
    await Promise.all([this.a.run(m, api), lag(this.lagMs, () => this.b.run(m, api))]);
  }
  toString() {
    return `(${this.a} ‖ ${lagged(this.lagMs)}${this.b})`;
  }
}

// ---- the arbitraries ----

const anyPick = fc.nat({ max: 30 });
/** Mostly the first cart, so that carts fill up and checkouts find lines. */
const cartPick = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: anyPick });
const skuPick = fc.constantFrom<0 | 1>(0, 1);
const units = fc.integer({ min: 1, max: 3 });
/** How much later a second tab starts: mostly at once, sometimes into the work the first one started. */
const lagMs = fc.constantFrom(0, 0, 20, 60, 150, 400);
const sometimes = fc.nat({ max: 3 }).map((n) => n === 0);
// tok_timeout is left out: it holds a checkout for the payment activity's whole timeout.
const paymentToken = fc.constantFrom('tok_visa', 'tok_visa', 'tok_visa', 'tok_chargeDeclined');

const add = fc
  .tuple(cartPick, skuPick, units, sometimes)
  .map(([cart, sku, quantity, twice]) => new AddItem(cart, sku, quantity, twice));
const change = fc
  .tuple(anyPick, fc.integer({ min: 1, max: 4 }))
  .map(([line, quantity]) => new ChangeQuantity(line, quantity));
const remove = anyPick.map((line) => new RemoveLine(line));
const checkout = fc
  .tuple(cartPick, paymentToken, sometimes)
  .map(([cart, token, retry]) => new Checkout(cart, token, retry));
const restock = (sku: fc.Arbitrary<0 | 1>) =>
  fc.tuple(sku, units, sometimes).map(([s, quantity, retry]) => new Restock(s, quantity, retry));
const backorderEdit = fc.oneof(
  anyPick.map((line) => new CancelBackorder(line)),
  fc.tuple(anyPick, fc.nat({ max: 2 })).map(([line, position]) => new Reprioritise(line, position)),
);

const oneTab: fc.Arbitrary<Command> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(new CreateCart()) },
  { weight: 10, arbitrary: add },
  { weight: 1, arbitrary: anyPick.map((line) => new RetryAdd(line)) },
  { weight: 3, arbitrary: change },
  { weight: 2, arbitrary: remove },
  { weight: 3, arbitrary: checkout },
  { weight: 2, arbitrary: restock(skuPick) },
  { weight: 2, arbitrary: backorderEdit },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: oneTab },
  { weight: 3, arbitrary: fc.tuple(oneTab, oneTab, lagMs).map(([a, b, ms]) => new TwoTabs(a, b, ms)) },
  {
    weight: 2,
    arbitrary: fc.tuple(cartPick, paymentToken, paymentToken).map(([cart, a, b]) => new DoubleCheckout(cart, [a, b])),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.oneof(change, remove), checkout, lagMs)
      .map(([edit, pay, ms]) => new DuringCheckout(edit, pay, ms)),
  },
  // Queue edits while a restock fills the queue.
  {
    weight: 2,
    arbitrary: fc.tuple(restock(fc.constant(1)), backorderEdit, lagMs).map(([r, edit, ms]) => new TwoTabs(r, edit, ms)),
  },
  { weight: 1, arbitrary: fc.constant(new WaitPastTtl()) },
);

const store = fc.record({
  strictUnits: fc.integer({ min: 2, max: 5 }),
  backorderUnits: fc.integer({ min: 0, max: 2 }),
  strictPriceCents: fc.constantFrom(1500, 2500),
  backorderPriceCents: fc.constantFrom(700, 900),
  buckets: fc.integer({ min: 1, max: 2 }),
});
type Store = typeof store extends fc.Arbitrary<infer T> ? T : never;

// ---- one run ----

async function openStore(api: ApiCalls, s: Store): Promise<Model> {
  const sku = (policy: SkuModel['policy'], priceCents: number, units: number): SkuModel => ({
    sku: uniqueId(policy),
    policy,
    priceCents,
    received: units,
    mayHaveReceived: units,
  });
  const model = new Model([
    sku('strict', s.strictPriceCents, s.strictUnits),
    sku('backorder', s.backorderPriceCents, s.backorderUnits),
  ]);
  for (const p of model.skus) {
    const { sku, priceCents, policy, received } = p;
    const r = await api.createProduct({ sku, priceCents, policy, quantity: received, buckets: s.buckets });
    expect(r.status, r.raw).toBe(201);
  }
  await new CreateCart().run(model, api);
  await new CreateCart().run(model, api);
  return model;
}

/** Everything that is wrong with the store at rest, measured against the model. */
async function problemsAtRest(m: Model, api: ApiCalls): Promise<string[]> {
  const problems: string[] = [];
  const orders = m.carts.flatMap((c) => c.orders);
  const backorder = m.skus[1];
  const { observation: seen, quiet } = await waitUntilQuiet(api, {
    carts: m.carts,
    orders,
    skus: m.skus.map((s) => s.sku),
    backorderSkus: [backorder.sku],
  });
  if (!quiet) {
    const open = [...seen.carts.values()].flat().filter((l) => l.status === 'pending');
    const pending = [...seen.orders].filter(([, o]) => o?.status !== 'completed' && o?.status !== 'failed');
    problems.push(
      `not at rest after a minute: pending lines ${open.map((l) => l.holdId).join(', ') || '-'}; ` +
        `orders not final ${pending.map(([id, o]) => `${id}:${o?.status ?? 'not found'}`).join(', ') || '-'}`,
    );
  }

  const check = await api.check();
  const report = check.body;
  if (check.status !== 200) problems.push(`check: ${answered(check)}`);
  else if (!report.ok || report.violations.length > 0) {
    problems.push(`check: not ok`, ...report.violations.map((v) => `check: ${v}`));
  }

  // Orders: final; a completed one costs its units at the SKUs' prices, and buys lines of its own cart.
  const completed: Order[] = [];
  for (const order of orders) {
    const o = seen.orders.get(order.orderId);
    if (!o) {
      problems.push(`order ${order.orderId}: not found`);
      continue;
    }
    if (o.status !== 'completed') continue;
    completed.push(o);
    if (order.paymentToken === 'tok_chargeDeclined')
      problems.push(`order ${o.orderId}: completed with a declined card`);
    let total = 0;
    for (const ol of o.lines) {
      const sku = m.skus.find((s) => s.sku === ol.sku);
      const line = order.cart.lines.find((l) => l.holdId === ol.holdId);
      if (!sku) {
        problems.push(`order ${o.orderId}: buys unknown SKU ${ol.sku}`);
        continue;
      }
      total += ol.quantity * sku.priceCents;
      if (ol.unitPriceCents !== sku.priceCents) {
        problems.push(`order ${o.orderId}: ${ol.sku} at ${ol.unitPriceCents}, priced ${sku.priceCents}`);
      }
      if (!line) problems.push(`order ${o.orderId}: buys ${ol.holdId}, not a line of its cart`);
      else if (line.removed) problems.push(`order ${o.orderId}: buys ${ol.holdId}, which was removed`);
      else if (line.answer && !line.quantities.has(ol.quantity)) {
        problems.push(
          `order ${o.orderId}: buys ${ol.quantity} of ${ol.holdId}, asked ${[...line.quantities].join('/')}`,
        );
      }
    }
    if (o.totalCents !== total) problems.push(`order ${o.orderId}: total ${o.totalCents}, its units cost ${total}`);
  }
  const buyer = new Map<string, string>();
  for (const o of completed) {
    for (const ol of o.lines) {
      const earlier = buyer.get(ol.holdId);
      if (earlier) problems.push(`line ${ol.holdId}: in completed orders ${earlier} and ${o.orderId}`);
      buyer.set(ol.holdId, o.orderId);
    }
  }

  // Money: what was charged and not refunded is what the completed orders cost.
  const ordersCents = completed.reduce((sum, o) => sum + o.totalCents, 0);
  if (check.status === 200) {
    const t = report.totals;
    if (t.chargedCents - t.refundedCents !== ordersCents) {
      problems.push(`money: charged ${t.chargedCents} − refunded ${t.refundedCents} ≠ completed orders ${ordersCents}`);
    }
    if (t.ordersCents !== ordersCents) problems.push(`money: check counts ${t.ordersCents}, orders say ${ordersCents}`);
  }

  // Stock: sold is what completed orders bought; every unit received is somewhere.
  for (const sku of m.skus) {
    const sold = completed.flatMap((o) => o.lines).reduce((sum, l) => sum + (l.sku === sku.sku ? l.quantity : 0), 0);
    const view = seen.products.get(sku.sku)!;
    const nonSellable = Object.values(view.nonSellable ?? {}).reduce((sum, n) => sum + (n ?? 0), 0);
    const accounted = view.available + view.reserved + view.sold + (view.incoming ?? 0) + nonSellable;
    const name = `${sku.policy} ${sku.sku}`;
    if (sold > sku.received) problems.push(`${name}: sold ${sold} of ${sku.received} received`);
    if (view.sold !== sold) problems.push(`${name}: product shows ${view.sold} sold, completed orders bought ${sold}`);
    if (check.status === 200) {
      const ledgerSold = report.totals.sold[sku.sku] ?? 0;
      if (ledgerSold !== sold) problems.push(`${name}: ledger sold ${ledgerSold}, completed orders bought ${sold}`);
      const received = report.stock.find((r) => r.sku === sku.sku)?.totals.received;
      if (received !== sku.received) problems.push(`${name}: ledger received ${received}, restocked ${sku.received}`);
    }
    if (accounted !== sku.received) {
      problems.push(
        `${name}: available ${view.available} + held ${view.reserved} + sold ${view.sold} + incoming ` +
          `${view.incoming ?? 0} + non-sellable ${nonSellable} = ${accounted} ≠ received ${sku.received}`,
      );
    }
    if (view.reserved !== 0) problems.push(`${name}: ${view.reserved} held at rest`);
  }

  // Lines: the cart lists what was added; purchased exactly when a completed order bought it.
  for (const cart of m.carts) {
    const rows = seen.carts.get(cart.cartId) ?? [];
    const rowOf = new Map(rows.map((r) => [r.holdId, r]));
    for (const line of cart.lines) {
      // Refused (no line; a row of it shows as never added below), or its add failed (it may or may not exist).
      if (!line.holdId) continue;
      const row = rowOf.get(line.holdId);
      if (!row) {
        problems.push(`line ${line.holdId}: answered ${line.answer}, not listed`);
        continue;
      }
      const boughtBy = buyer.get(line.holdId);
      if (line.removed && row.status !== 'removed') problems.push(`line ${line.holdId}: removed, now ${row.status}`);
      if ((row.status === 'purchased') !== (boughtBy !== undefined)) {
        problems.push(`line ${line.holdId}: ${row.status}, bought by ${boughtBy ?? 'no completed order'}`);
      }
      if (boughtBy && row.orderId !== boughtBy)
        problems.push(`line ${line.holdId}: bought by ${boughtBy}, names ${row.orderId}`);
      if (row.status === 'pending') problems.push(`line ${line.holdId}: pending at rest`);
      if (!line.quantities.has(row.quantity)) {
        problems.push(`line ${line.holdId}: quantity ${row.quantity}, asked ${[...line.quantities].join('/')}`);
      }
    }
    for (const row of rows) {
      if (!cart.lines.some((l) => l.holdId === row.holdId)) problems.push(`line ${row.holdId}: listed, never added`);
    }
  }

  // The backorder queue waits for exactly the backordered lines.
  const queue = seen.queues.get(backorder.sku);
  const backordered = [...seen.carts.values()]
    .flat()
    .filter((l) => l.sku === backorder.sku && l.status === 'backordered');
  const waiting = new Map((queue?.waiting ?? []).map((w) => [w.holdId, w.quantity]));
  for (const l of backordered) {
    if (waiting.get(l.holdId) !== l.quantity) {
      problems.push(`line ${l.holdId}: backordered × ${l.quantity}, queue has ${waiting.get(l.holdId) ?? 'nothing'}`);
    }
  }
  for (const holdId of waiting.keys()) {
    if (!backordered.some((l) => l.holdId === holdId))
      problems.push(`queue: waits for ${holdId}, not a backordered line`);
  }
  const view = seen.products.get(backorder.sku)!;
  const waitingUnits = [...waiting.values()].reduce((sum, q) => sum + q, 0);
  if (view.backordered !== waitingUnits)
    problems.push(`backorder: shows ${view.backordered} backordered, queue ${waitingUnits}`);

  return [...api.problems, ...problems];
}

function modelProperty(longest: number) {
  const sequences = fc
    .commands([command], { maxCommands: longest, size: 'max' })
    .filter((cmds) => [...cmds].length >= 8);
  return fc.asyncProperty(store, sequences, async (s, cmds) => {
    const api = await startTestApi({ holdTtlSeconds: ttlSeconds, maxHoldSeconds: 2 * ttlSeconds });
    try {
      const calls = new ApiCalls(api);
      const model = await openStore(calls, s);
      await fc.asyncModelRun(() => ({ model, real: calls }), cmds);
      expect(await problemsAtRest(model, calls)).toEqual([]);
    } finally {
      await api.close();
    }
  });
}

const seed = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : undefined;

/**
 * Failures the search found, replayed from fast-check's report (`seed`, `path`; sequences of up to 15 commands,
 * generated by the arbitraries above: changing those changes what a seed means). A replay runs the same
 * commands; its race may or may not come round again.
 */
const regressions = [
  {
    seed: -655043315,
    path: '4',
    // (checkout(cart 0, tok_visa, retried) of its cart ‖ 150 ms later change(line 12 → 1)): the PATCH landed as
    // the line's run closed (purchased); Temporal says "workflow update was aborted by closing workflow" (a
    // WorkflowNotFoundError), which the API answered 404 unknown_line instead of 409 line_not_pending.
    found: 'PATCH racing its line’s purchase answered 404 unknown_line',
  },
];

describe('the public API against a model (fast-check commands, real Temporal and FerretDB)', () => {
  it(
    `keeps money and stock equal to the model over ${runs} random sequences`,
    async () => {
      await fc.assert(modelProperty(maxCommands), {
        numRuns: runs,
        endOnFailure: !process.env.MODEL_SHRINK,
        ...(seed !== undefined ? { seed } : {}),
      });
    },
    runs * perRunMs + 30_000,
  );

  it.each(regressions)(
    'regression (seed $seed, path $path): $found',
    async ({ seed, path }) => {
      await fc.assert(modelProperty(15), { seed, path, numRuns: 1, endOnFailure: true });
    },
    perRunMs + 30_000,
  );
});
