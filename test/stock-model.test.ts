import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collections, type ShardSet } from '../src/db';
import {
  evenSplit,
  InsufficientStockError,
  movableStates,
  planRebalance,
  StockService,
  transferOpId,
  type Balances,
  type BucketRef,
  type Hold,
  type LedgerEntry,
  type MovableState,
  type ProductInput,
  type ReceivingState,
  type SettleKind,
  type SettleResult,
  type TakeOutcome,
} from '../src/stock';
import type { LeaseDoc } from '../src/stock/ownership';
import { connectTestShards, expectCleanLedger, uniqueId } from './helpers';

/** One operation of a concurrent group, on the live writer that `writer` picks. */
type GroupItem =
  /** `twin`: the group's previous reserve again (its op id, qty and source), on another writer. */
  | {
      readonly kind: 'reserve';
      readonly qty: number;
      readonly from: ReceivingState;
      readonly writer: number;
      readonly twin: boolean;
    }
  /** Settles an open hold no other item of the group settles; `twin`: the group's previous settle's hold again
   * (same destination for a release), either way, on another writer. */
  | {
      readonly kind: 'settle';
      readonly pick: number;
      readonly as: SettleKind;
      readonly to: ReceivingState;
      readonly writer: number;
      readonly twin: boolean;
    };

type Op =
  | { readonly kind: 'reserve'; readonly qty: number; readonly from: ReceivingState }
  /** Settles the pick-th open hold (skipped when none is open); a release gives its units back to `to`. */
  | { readonly kind: 'settle'; readonly pick: number; readonly as: SettleKind; readonly to: ReceivingState }
  /** Shrinks the pick-th open hold of 2 or more units to 1 + keep % (qty - 1) (skipped when there is none). */
  | { readonly kind: 'trim'; readonly pick: number; readonly keep: number; readonly to: ReceivingState }
  /** Settles the pick-th settled hold again, either way (skipped when none is settled). */
  | { readonly kind: 'resettle'; readonly pick: number; readonly as: SettleKind }
  | { readonly kind: 'restock'; readonly qty: number; readonly to: ReceivingState }
  /** `stocked`: from the first state other than available that has qty in some bucket (skipped when it is `to`). */
  | {
      readonly kind: 'moveState';
      readonly qty: number;
      readonly from: MovableState | 'stocked';
      readonly to: MovableState;
    }
  /** From bucket `from % n` to another one picked by `offset` (skipped with one bucket). */
  | { readonly kind: 'transfer'; readonly from: number; readonly offset: number; readonly qty: number }
  | { readonly kind: 'rebalance' }
  /** Moves every unit of one state to the other: holdForBackorders, or releaseIncoming. */
  | { readonly kind: 'moveAll'; readonly from: ReceivingState }
  /** Runs the pick-th earlier operation again with its operation id: it must have no second effect. */
  | { readonly kind: 'repeat'; readonly pick: number }
  /** Runs its items at once (Promise.all), spread over the live writers. */
  | { readonly kind: 'group'; readonly items: readonly GroupItem[] }
  /** One ownership round of the live writer `writer` picks, now. */
  | { readonly kind: 'ownerRound'; readonly writer: number }
  /** Moves the shared clock past the lease time: every lease lapses, unless a round renews it afterwards. */
  | { readonly kind: 'advanceClock' }
  /** The live writer `writer` picks stops renewing its leases and is used no more (skipped for the last one). */
  | { readonly kind: 'writerDies'; readonly writer: number }
  /**
   * Transfers every available unit of a bucket the live writer `writer` picks owns to another bucket (skipped
   * when it owns none): the owner's bucket has run dry, which its next refill is for.
   */
  | { readonly kind: 'drain'; readonly writer: number; readonly offset: number }
  /** StockService.refill on the live writer `writer` picks. */
  | { readonly kind: 'refill'; readonly writer: number };

const settleKind = fc.constantFrom<SettleKind>('release', 'commit');
const receivingState = fc.constantFrom<ReceivingState>('available', 'incoming');
const reservedFrom = fc.constantFrom<ReceivingState>('available', 'available', 'incoming');
const twin = fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
const groupItem: fc.Arbitrary<GroupItem> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('reserve'),
      qty: fc.integer({ min: 1, max: 3 }),
      from: reservedFrom,
      writer: fc.nat(),
      twin,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('settle'),
      pick: fc.nat(),
      as: settleKind,
      to: receivingState,
      writer: fc.nat(),
      twin,
    }),
  },
) as fc.Arbitrary<GroupItem>;
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('reserve'), qty: fc.integer({ min: 1, max: 5 }), from: reservedFrom }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('settle'), pick: fc.nat(), as: settleKind, to: receivingState }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('trim'), pick: fc.nat(), keep: fc.nat(), to: receivingState }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resettle'), pick: fc.nat(), as: settleKind }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('restock'),
      qty: fc.integer({ min: 1, max: 10 }),
      to: receivingState,
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        kind: fc.constant('moveState'),
        qty: fc.integer({ min: 1, max: 3 }),
        // Often out of available or of a state that has units, so that units keep moving on.
        from: fc.oneof(fc.constantFrom('available', 'stocked'), fc.constantFrom(...movableStates)),
        to: fc.constantFrom(...movableStates),
      })
      .filter((m) => m.from !== m.to),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('transfer'),
      from: fc.nat(),
      offset: fc.nat(),
      qty: fc.integer({ min: 1, max: 10 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rebalance') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('moveAll'), from: receivingState }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('repeat'), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('group'), items: fc.array(groupItem, { minLength: 2, maxLength: 6 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ownerRound'), writer: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advanceClock') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('writerDies'), writer: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drain'), writer: fc.nat(), offset: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refill'), writer: fc.nat() }) },
) as fc.Arbitrary<Op>;

/** A bucket's balances but those modelled only as totals, and its transfers (the model sees no transfers). */
type BucketModel = Omit<Balances, ReceivingState | 'transferredIn' | 'transferredOut'>;
type SingleBucketState = Exclude<MovableState, ReceivingState>;
type Settled = 'released' | 'committed';

/**
 * What the stock should be. Available and incoming stock move between buckets by gathering, rebalancing,
 * refills and bulk moves, so only their totals are modelled; every other state changes only in a bucket the
 * model knows (the one an operation reports), so it is modelled per bucket.
 */
class StockModel {
  available: number;
  incoming = 0;
  readonly buckets: BucketModel[];
  readonly open: Hold[] = [];
  readonly settled: { hold: Hold; settled: Settled }[] = [];

  constructor(buckets: number, initial: number) {
    this.available = initial;
    this.buckets = evenSplit(initial, buckets).map((received) => ({
      held: 0,
      sold: 0,
      returned: 0,
      repair: 0,
      damaged: 0,
      received,
    }));
  }

  totals() {
    const sum = (key: keyof BucketModel) => this.buckets.reduce((s, b) => s + b[key], 0);
    return {
      available: this.available,
      incoming: this.incoming,
      held: sum('held'),
      sold: sum('sold'),
      returned: sum('returned'),
      repair: sum('repair'),
      damaged: sum('damaged'),
      received: sum('received'),
    };
  }

  /**
   * Whether a state move can take qty: out of available it gathers stock across buckets; other states are
   * taken from one bucket that has qty (for incoming, whose spread is not modelled, as the heads show it).
   */
  canMove(from: MovableState, qty: number, incomingByBucket: readonly number[]): boolean {
    if (from === 'available') return this.available >= qty;
    if (from === 'incoming') return incomingByBucket.some((n) => n >= qty);
    return this.buckets.some((b) => b[from] >= qty);
  }

  add(state: MovableState, bucket: number, qty: number) {
    if (state === 'available' || state === 'incoming') this[state] += qty;
    else this.buckets[bucket]![state as SingleBucketState] += qty;
  }

  /** A reservation took `hold` out of `from`. */
  take(hold: Hold, from: ReceivingState) {
    this[from] -= hold.qty;
    this.buckets[hold.bucket]!.held += hold.qty;
    this.open.push(hold);
  }

  /** The open hold was settled: released (to `to`) or committed. */
  end(hold: Hold, settled: Settled, to: ReceivingState) {
    this.open.splice(this.open.indexOf(hold), 1);
    this.buckets[hold.bucket]!.held -= hold.qty;
    if (settled === 'released') this[to] += hold.qty;
    else this.buckets[hold.bucket]!.sold += hold.qty;
    this.settled.push({ hold, settled });
  }

  /** What a run of reservation `holdId` answers now that it has been taken: the hold as it is, or how it ended. */
  answerFor(holdId: string) {
    const open = this.open.find((h) => h.holdId === holdId);
    if (open) return { status: 'taken', hold: open };
    const ended = this.settled.find((s) => s.hold.holdId === holdId);
    return ended && { status: 'settled', hold: ended.hold, settled: ended.settled };
  }
}

function productInput(sku: string, buckets: number): ProductInput {
  return {
    sku,
    name: `Model ${sku}`,
    priceCents: 500,
    policy: 'strict',
    buckets,
    lowStockThreshold: 1,
    reorderQuantity: 10,
  };
}

/** Units that left a bucket by transfer and have not arrived (as far as these heads show). */
function inTransit(heads: readonly LedgerEntry[]): number {
  return heads.reduce((n, h) => n + h.balances.transferredOut - h.balances.transferredIn, 0);
}

function settledBy(kind: SettleKind): Settled {
  return kind === 'release' ? 'released' : 'committed';
}

/** Fake time: a lease lapses only when a command moves the clock past it. */
const leaseMs = 60_000;
/** Real time: background rounds (renewals, steals, refills) run often, between and during commands. */
const roundMs = 100;

describe('stock ledger against an in-memory model', () => {
  let shards: ShardSet;
  /** Creates products and reads for the checks; with ownership off it never moves stock in the background. */
  let observer: StockService;
  /** Across the whole property run: whether leases were split. */
  let leasesSplit = false;

  beforeAll(async () => {
    shards = await connectTestShards();
    // No summary caching: after every operation the summary must equal the model exactly.
    observer = new StockService(shards, { summaryMaxAgeMs: 0, ownership: false });
  });
  afterAll(async () => {
    await shards?.close();
  });

  async function runSequence(bucketCount: number, writerCount: number, initial: number, ops: readonly Op[]) {
    const sku = uniqueId('model');
    const product = await observer.createProduct(productInput(sku, bucketCount), initial);
    const buckets = observer.bucketsOf(product);
    let now = Date.parse('2030-01-01T00:00:00Z');
    const clock = () => new Date(now);
    /**
     * Writers with their own head caches, batches and leases, like processes, sharing one fake clock. Their
     * ownership rounds also run in the background (every roundMs of real time), so a refill may move available
     * stock during any command: checks of where it lies apply only when none did (`quietSince`).
     */
    const writers = Array.from(
      { length: writerCount },
      (_, w) =>
        new StockService(shards, {
          writerId: `${sku}-w${w}`,
          clock,
          summaryMaxAgeMs: 0,
          ownership: { leaseMs, roundMs },
        }),
    );
    try {
      await runCommands();
    } finally {
      await Promise.all(writers.map((w) => w.close(false)));
    }

    async function runCommands() {
      /** Indexes of the writers still in use. */
      const alive = writers.map((_, w) => w);
      /** Writers that died before the clock last moved past the lease time: none of them may own a bucket. */
      const lapsed = new Set<string>();
      const dead = new Set<string>();
      const idOf = (w: StockService) => w.ownership!.writerId;
      // Each writer starts taking its share (in the background from now on) and takes it once now.
      for (const w of writers) w.ownership!.owned(product, buckets);
      for (const w of writers) await w.ownership!.maintain(sku);

      const model = new StockModel(bucketCount, initial);
      /** Earlier operations, each as a re-run with its own id (on any writer) that asserts it changed nothing. */
      const done: ((stock: StockService) => Promise<void>)[] = [];
      const heads = async () => (await Promise.all(buckets.map((b) => observer.ledger.head(b, true)))).map((h) => h!);

      /**
       * The heads now, if no background refill moved available stock since the heads `before`: then a command
       * that ran in between saw the available stock as the model does, bucket by bucket (undefined otherwise).
       */
      const quietSince = async (before: readonly LedgerEntry[]) => {
        if (inTransit(before) !== 0) return undefined;
        const after = await heads();
        const between = await Promise.all(
          buckets.flatMap((b, i) =>
            Array.from({ length: after[i]!.seq - before[i]!.seq }, (_, k) =>
              observer.ledger.entry(b, before[i]!.seq + 1 + k),
            ),
          ),
        );
        return between.some((e) => e?.opId.startsWith('refill:')) ? undefined : after;
      };

      /**
       * Whether a refill had units in transit while a command ran (from the heads `before` to now). Then, as the
       * regression case below shows, a taking operation that needs those units is refused: a known bug, which
       * the model tolerates only then (drop this when it is fixed).
       */
      const refillUnderWay = async (before: readonly LedgerEntry[]) => (await quietSince(before)) === undefined;

      /** Each bucket's owner now, by its latest lease epoch (null when it has none that is live). */
      const owners = async () =>
        Promise.all(
          buckets.map(async (b) => {
            const leases = await shards
              .stockDb(b.shard)
              .collection<LeaseDoc>(collections.stock.leases)
              .find({ bucketId: b.id })
              .toArray();
            const latest = leases.sort((x, y) => y.epoch - x.epoch)[0];
            return latest?.owner != null && latest.until.getTime() > now ? latest.owner : null;
          }),
        );
      const checkLeases = async (step: string) => {
        const live = (await owners()).filter((o) => o !== null);
        expect(
          live.filter((o) => lapsed.has(o)),
          `${step}: a dead writer's lease lapsed for good`,
        ).toEqual([]);
        if (new Set(live).size > 1) leasesSplit = true;
      };

      /** Transfers up to qty, checking both halves and, when no refill moved stock meanwhile, every bucket. */
      const transfer = async (via: StockService, opId: string, from: number, to: number, qty: number, step: string) => {
        const before = await heads();
        const moved = await via.transfer(opId, sku, from, to, qty);
        const key = transferOpId(opId, from, to);
        const halves = () =>
          Promise.all([observer.ledger.findOwn(buckets[from]!, key), observer.ledger.findOwn(buckets[to]!, key)]);
        const written = await halves();
        expect(
          written.map((e) => e && { kind: e.kind, qty: e.qty }),
          step,
        ).toEqual(
          moved > 0
            ? [
                { kind: 'transfer_out', qty: moved },
                { kind: 'transfer_in', qty: moved },
              ]
            : [null, null],
        );
        const after = await quietSince(before);
        if (after) {
          const available = before.map((h) => h.balances.available);
          expect(moved, step).toBe(Math.min(qty, available[from]!));
          available[from]! -= moved;
          available[to]! += moved;
          expect(
            after.map((h) => h.balances.available),
            step,
          ).toEqual(available);
        } else {
          expect(moved, step).toBeLessThanOrEqual(qty);
        }
        // A transfer that found nothing to move recorded nothing: only one that moved units must repeat as a no-op.
        if (moved > 0) {
          done.push(async (stock) => {
            expect(await stock.transfer(opId, sku, from, to, qty), `repeat of ${step}`).toBe(moved);
            expect(await halves(), `repeat of ${step}`).toEqual(written);
          });
        }
      };

      const repeatReserve =
        (opId: string, qty: number, from: ReceivingState, outcome: TakeOutcome, step: string) =>
        async (stock: StockService) =>
          // Run again, it answers with the hold as it is by then, or how it ended.
          expect(await stock.reserve(opId, sku, qty, from), `repeat of ${step}`).toEqual(
            model.answerFor(opId) ?? outcome,
          );
      const repeatSettle =
        (hold: Hold, as: SettleKind, settled: Settled, step: string) => async (stock: StockService) =>
          expect(await stock.settle(hold, as), `repeat of ${step}`).toEqual({ settled, byThisCall: false });

      for (const [i, o] of ops.entries()) {
        const stock = writers[alive[i % alive.length]!]!;
        const pick = (n: number) => writers[alive[n % alive.length]!]!;
        const opId = `${sku}.${i}`;
        const step = `op ${i} ${JSON.stringify(o)}`;
        switch (o.kind) {
          case 'reserve': {
            // Reservations gather stock, from available or incoming alike.
            const before = await heads();
            const outcome = await stock.reserve(opId, sku, o.qty, o.from);
            // Enough stock is taken, unless a refill had some of it in transit (the known bug of refillUnderWay).
            const hidden = o.from === 'available' && outcome.status === 'insufficient';
            if (model[o.from] >= o.qty && !(hidden && (await refillUnderWay(before)))) {
              expect(outcome, step).toEqual({
                status: 'taken',
                hold: { holdId: opId, sku, bucket: expect.any(Number), qty: o.qty, seq: expect.any(Number) },
              });
              if (outcome.status !== 'taken') break;
              model.take(outcome.hold, o.from);
            } else {
              expect(outcome, step).toEqual({ status: 'insufficient', available: expect.any(Number) });
              if (outcome.status !== 'insufficient') break;
              // A refill under way may show its units in both buckets or in neither: then the count is a moment's.
              if (o.from === 'incoming' || (await quietSince(before)))
                expect(outcome.available, step).toBe(model[o.from]);
              else expect(outcome.available, step).toBeLessThan(o.qty);
            }
            done.push(repeatReserve(opId, o.qty, o.from, outcome, step));
            break;
          }
          case 'settle': {
            if (model.open.length === 0) break;
            const hold = model.open[o.pick % model.open.length]!;
            const settled = settledBy(o.as);
            const to = o.as === 'release' ? o.to : undefined;
            expect(await stock.settle(hold, o.as, to), step).toEqual({ settled, byThisCall: true });
            model.end(hold, settled, o.to);
            done.push(repeatSettle(hold, o.as, settled, step));
            break;
          }
          case 'trim': {
            const trimmable = model.open.filter((h) => h.qty >= 2);
            if (trimmable.length === 0) break;
            const hold = trimmable[o.pick % trimmable.length]!;
            const keep = 1 + (o.keep % (hold.qty - 1));
            const trimmed = await stock.trim(hold, keep, o.to);
            expect(trimmed, step).toEqual({ ...hold, qty: keep });
            model.open[model.open.indexOf(hold)] = trimmed;
            model.buckets[hold.bucket]!.held -= hold.qty - keep;
            model[o.to] += hold.qty - keep;
            done.push(async (stock) =>
              expect(await stock.trim(hold, keep, o.to), `repeat of ${step}`).toEqual(trimmed),
            );
            break;
          }
          case 'resettle': {
            if (model.settled.length === 0) break;
            const { hold, settled } = model.settled[o.pick % model.settled.length]!;
            expect(await stock.settle(hold, o.as), step).toEqual({ settled, byThisCall: false });
            break;
          }
          case 'restock': {
            expect(await stock.restock(opId, sku, o.qty, o.to), step).toBe(o.qty);
            if (o.to === 'available') {
              model.available += o.qty;
              for (const [b, share] of evenSplit(o.qty, bucketCount).entries()) model.buckets[b]!.received += share;
            } else {
              model.incoming += o.qty;
              model.buckets[0]!.received += o.qty;
            }
            done.push(async (stock) =>
              expect(await stock.restock(opId, sku, o.qty, o.to), `repeat of ${step}`).toBe(o.qty),
            );
            break;
          }
          case 'moveState': {
            const before = await heads();
            const incomingByBucket = before.map((b) => b.balances.incoming);
            const from =
              o.from === 'stocked'
                ? (movableStates.find((s) => s !== 'available' && model.canMove(s, o.qty, incomingByBucket)) ??
                  'returned')
                : o.from;
            if (from === o.to) break;
            const move = (via: StockService) => via.moveState(opId, sku, o.qty, from, o.to);
            const refused = () =>
              done.push((again) =>
                expect(move(again), `repeat of ${step}`).rejects.toBeInstanceOf(InsufficientStockError),
              );
            if (model.canMove(from, o.qty, incomingByBucket)) {
              const hold = await move(stock).catch(async (err: unknown) => {
                const hidden = err instanceof InsufficientStockError && from === 'available';
                if (hidden && (await refillUnderWay(before))) return undefined;
                throw err;
              });
              if (!hold) {
                refused();
                break;
              }
              expect(hold, step).toEqual({
                holdId: opId,
                sku,
                bucket: expect.any(Number),
                qty: o.qty,
                seq: expect.any(Number),
              });
              if (from !== 'available' && from !== 'incoming') {
                expect(model.buckets[hold.bucket]![from], step).toBeGreaterThanOrEqual(o.qty);
              }
              model.add(from, hold.bucket, -o.qty);
              model.add(o.to, hold.bucket, o.qty);
              done.push(async (again) => expect(await move(again), `repeat of ${step}`).toEqual(hold));
            } else {
              await expect(move(stock), step).rejects.toBeInstanceOf(InsufficientStockError);
              refused();
            }
            break;
          }
          case 'transfer': {
            if (bucketCount === 1) break;
            const from = o.from % bucketCount;
            await transfer(stock, opId, from, (from + 1 + (o.offset % (bucketCount - 1))) % bucketCount, o.qty, step);
            break;
          }
          case 'drain': {
            // By the owner, as when its own reservations empty its bucket: it sees the bucket run dry.
            const owner = pick(o.writer);
            const owned = (await owners()).flatMap((id, b) => (id === idOf(owner) ? [b] : []));
            if (owned.length === 0 || bucketCount === 1) break;
            const from = owned[o.offset % owned.length]!;
            const to = (from + 1 + (o.offset % (bucketCount - 1))) % bucketCount;
            const has = (await heads())[from]!.balances.available;
            if (has > 0) await transfer(owner, opId, from, to, has, step);
            break;
          }
          case 'rebalance': {
            const before = await heads();
            const plan = planRebalance(before.map((h) => h.balances.available));
            const moved = await stock.rebalance(opId, sku);
            const after = await quietSince(before);
            if (after) {
              const expected = before.map((h) => h.balances.available);
              for (const t of plan) {
                expected[t.from]! -= t.qty;
                expected[t.to]! += t.qty;
              }
              expect(moved, step).toBe(plan.reduce((s, t) => s + t.qty, 0));
              expect(
                after.map((h) => h.balances.available),
                step,
              ).toEqual(expected);
            }
            // Repeated later its plan may differ, so a repeat only has to leave the totals alone.
            done.push(async (stock) => {
              await stock.rebalance(opId, sku);
            });
            break;
          }
          case 'moveAll': {
            const to = o.from === 'available' ? 'incoming' : 'available';
            const moveAll = (via: StockService) =>
              o.from === 'available' ? via.holdForBackorders(opId, sku) : via.releaseIncoming(opId, sku);
            const before = await heads();
            const moved = await moveAll(stock);
            // Refills move only available units; units a refill had under way arrive after the move passed by.
            if (o.from === 'incoming' || (await quietSince(before))) expect(moved, step).toBe(model[o.from]);
            else expect(moved, step).toBeLessThanOrEqual(model[o.from]);
            model[to] += moved;
            model[o.from] -= moved;
            // No repeat: a bucket that had nothing to move recorded nothing, so run again the operation moves
            // what has arrived there since (like a transfer that found nothing), and the model has no buckets here.
            break;
          }
          case 'repeat': {
            if (done.length === 0) break;
            await done[o.pick % done.length]!(stock);
            break;
          }
          case 'group':
            await runGroup(o.items, i, step);
            break;
          case 'ownerRound':
            await pick(o.writer).ownership!.maintain(sku);
            await checkLeases(step);
            break;
          case 'advanceClock':
            now += leaseMs + 1;
            for (const w of dead) lapsed.add(w);
            await checkLeases(step);
            break;
          case 'writerDies': {
            if (alive.length === 1) break;
            const [w] = alive.splice(o.writer % alive.length, 1) as [number];
            await writers[w]!.close(false);
            dead.add(idOf(writers[w]!));
            break;
          }
          case 'refill': {
            const moved = await pick(o.writer).refill(sku);
            expect(Number.isSafeInteger(moved) && moved >= 0, step).toBe(true);
            break;
          }
        }
        const summary = await observer.summary(sku);
        expect(
          {
            // A background refill may be under way: its units count as available until they arrive.
            available: summary.available + summary.inTransit,
            held: summary.held,
            sold: summary.sold,
            incoming: summary.incoming,
            ...summary.nonSellable,
            received: summary.received,
          },
          `totals after ${step}`,
        ).toEqual(model.totals());
      }

      /**
       * Runs the group's items at once. Which reserves win when stock is short is the system's choice, so the
       * model follows their answers, after checking what must hold whoever wins: twins (one op id on several
       * writers) answer alike, an op id takes at most one hold, reserves take no more than there was, all win
       * when they fit together, and twin settles have exactly one winner that both learn.
       */
      async function runGroup(items: readonly GroupItem[], i: number, step: string) {
        type Reserve = { opId: string; qty: number; from: ReceivingState; at: number };
        type Settle = { hold: Hold; as: SettleKind; to: ReceivingState; at: number };
        const reserves: Reserve[] = [];
        const settles: Settle[] = [];
        const openToSettle = [...model.open];
        /** The live writer after `at`, picked by `n`, or the only one. */
        const other = (at: number, n: number) => (at + 1 + (n % Math.max(1, alive.length - 1))) % alive.length;
        for (const [j, item] of items.entries()) {
          if (item.kind === 'reserve') {
            const last = reserves.at(-1);
            reserves.push(
              item.twin && last
                ? { ...last, at: other(last.at, item.writer) }
                : { opId: `${sku}.${i}.${j}`, qty: item.qty, from: item.from, at: item.writer % alive.length },
            );
          } else {
            const last = settles.at(-1);
            if (item.twin && last) settles.push({ ...last, as: item.as, at: other(last.at, item.writer) });
            else if (openToSettle.length > 0) {
              const [hold] = openToSettle.splice(item.pick % openToSettle.length, 1) as [Hold];
              settles.push({ hold, as: item.as, to: item.to, at: item.writer % alive.length });
            }
          }
        }
        const via = (at: number) => writers[alive[at]!]!;
        const before = { available: model.available, incoming: model.incoming };
        const headsBefore = await heads();
        const [reserved, settled] = await Promise.all([
          Promise.all(reserves.map((r) => via(r.at).reserve(r.opId, sku, r.qty, r.from))),
          Promise.all(settles.map((s) => via(s.at).settle(s.hold, s.as, s.as === 'release' ? s.to : undefined))),
        ]);

        const releasedTo = { available: 0, incoming: 0 };
        for (const hold of new Set(settles.map((s) => s.hold))) {
          const runs = settles.flatMap((s, k) => (s.hold === hold ? [{ ...s, result: settled[k]! }] : []));
          const winners = runs.filter((r) => r.result.byThisCall);
          expect(winners.length, `${step}: settles of ${hold.holdId}, one winner`).toBe(1);
          const winner = winners[0]!;
          const ended = settledBy(winner.as);
          for (const r of runs) {
            expect(r.result, `${step}: settle of ${hold.holdId}`).toEqual<SettleResult>({
              settled: ended,
              byThisCall: r === winner,
            });
          }
          model.end(hold, ended, winner.to);
          if (ended === 'released') releasedTo[winner.to] += hold.qty;
          done.push(repeatSettle(hold, winner.as, ended, step));
        }

        const takenFrom = { available: 0, incoming: 0 };
        const wanted = { available: 0, incoming: 0 };
        const outcomes = new Map<string, TakeOutcome>();
        for (const [k, r] of reserves.entries()) {
          const outcome = reserved[k]!;
          const first = outcomes.get(r.opId);
          if (first) {
            expect(outcome, `${step}: twin of ${r.opId}`).toEqual(first);
            continue;
          }
          outcomes.set(r.opId, outcome);
          wanted[r.from] += r.qty;
          if (outcome.status === 'taken') {
            expect(outcome.hold, `${step}: ${r.opId}`).toEqual({
              holdId: r.opId,
              sku,
              bucket: expect.any(Number),
              qty: r.qty,
              seq: expect.any(Number),
            });
            model.take(outcome.hold, r.from);
            takenFrom[r.from] += r.qty;
          } else {
            expect(outcome, `${step}: ${r.opId}`).toEqual({ status: 'insufficient', available: expect.any(Number) });
            if (outcome.status === 'insufficient') expect(outcome.available, `${step}: ${r.opId}`).toBeLessThan(r.qty);
          }
          done.push(repeatReserve(r.opId, r.qty, r.from, outcome, step));
        }
        for (const state of ['available', 'incoming'] as const) {
          expect(takenFrom[state], `${step}: taken from ${state}`).toBeLessThanOrEqual(
            before[state] + releasedTo[state],
          );
          // Reserves that fit together in what there was before the group all win, however they interleave.
          const hidden = state === 'available' && takenFrom[state] < wanted[state];
          if (wanted[state] <= before[state] && !(hidden && (await refillUnderWay(headsBefore)))) {
            expect(takenFrom[state], `${step}: reserves from ${state} that fit`).toBe(wanted[state]);
          }
        }
      }

      await checkLeases('at the end');
      // At rest: no writer renews, steals or refills any more.
      await Promise.all(writers.map((w) => w.close(false)));
      const report = await expectCleanLedger(observer, shards, sku);
      expect(report.totals).toMatchObject(model.totals());
      expect(report).toMatchObject({ inTransit: 0, openHolds: model.open.length, unrecorded: 0 });
      const atRest = await heads();
      expect(
        atRest.map(({ balances: { held, sold, returned, repair, damaged, received } }) => ({
          held,
          sold,
          returned,
          repair,
          damaged,
          received,
        })),
      ).toEqual(model.buckets);
    }
  }

  it('matches the model after every operation of random sequences over several writers, invariants holding at the end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 3 }),
        fc.integer({ min: 0, max: 30 }),
        fc.array(op, { maxLength: 35, size: 'max' }),
        (bucketCount, writerCount, initial, ops) => runSequence(bucketCount, writerCount, initial, ops),
      ),
      { numRuns: 30 },
    );
    // Ownership really split the buckets. (Whether a run's groups met in one batch depends on timing; that
    // they do is shown deterministically below.)
    expect(leasesSplit).toBe(true);
  }, 180_000);

  it('batches concurrent reservations of one writer into shared entries, each taken once', async () => {
    const sku = uniqueId('model');
    const product = await observer.createProduct(productInput(sku, 1), 20);
    const writer = new StockService(shards);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => writer.reserve(`${sku}.burst${i}`, sku, 2)));
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 'taken'));
    const [bucket] = observer.bucketsOf(product);
    const entries = await observer.ledger.entries(bucket!);
    expect(Math.max(...entries.map((e) => e.members?.length ?? 0))).toBeGreaterThan(1);
    expect((await expectCleanLedger(observer, shards, sku)).totals).toMatchObject({ available: 4, held: 16 });
    await writer.close();
  });

  // Found by the property (seed -1568039050, path "16"; two buckets, two writers, 4 units: a transfer emptied
  // bucket 1 into bucket 0, its owner's background refill sent 2 units back, and a reservation of 3 ran while
  // they were on the way: refused, `available: 2`). Made deterministic here by writing the refill's first half
  // as Transfers.between does, which is also what a writer that died between the halves leaves until a takeover
  // repairs it. The refusal is recorded, so the operation never gets the stock.
  it('reserves units a refill has in transit (regression: refused while the SKU has them)', async () => {
    const sku = uniqueId('model');
    const product = await observer.createProduct(productInput(sku, 2), 4);
    const [b0] = observer.bucketsOf(product) as [BucketRef, BucketRef];
    expect(await observer.transfer(`${sku}.empty`, sku, 1, 0, 2)).toBe(2);
    const refill = await observer.ledger.append(
      b0,
      transferOpId(`refill:${sku}-w1:1`, 0, 1),
      { kind: 'transfer_out', qty: 2 },
      { ref: '1', findDuplicateWhenRefused: true },
    );
    expect(refill.status).toBe('appended');
    const outcome = await observer.reserve(`${sku}.r`, sku, 3);
    await observer.repairTransfers(sku);
    await expectCleanLedger(observer, shards, sku);
    expect(outcome).toEqual({
      status: 'taken',
      hold: { holdId: `${sku}.r`, sku, bucket: expect.any(Number), qty: 3, seq: expect.any(Number) },
    });
  });
});
