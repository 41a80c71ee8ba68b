import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShardSet } from '../src/db';
import {
  evenSplit,
  InsufficientStockError,
  movableStates,
  planRebalance,
  StockService,
  type Balances,
  type Hold,
  type MovableState,
  type ProductInput,
  type ReceivingState,
  type SettleKind,
} from '../src/stock';
import { connectTestShards, expectCleanLedger, uniqueId } from './helpers';

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
  | { readonly kind: 'repeat'; readonly pick: number };

const settleKind = fc.constantFrom<SettleKind>('release', 'commit');
const receivingState = fc.constantFrom<ReceivingState>('available', 'incoming');
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('reserve'),
      qty: fc.integer({ min: 1, max: 5 }),
      from: fc.constantFrom<ReceivingState>('available', 'available', 'incoming'),
    }),
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
) as fc.Arbitrary<Op>;

/** A bucket's balances but those modelled only as totals, and its transfers (the model sees no transfers). */
type BucketModel = Omit<Balances, ReceivingState | 'transferredIn' | 'transferredOut'>;
type SingleBucketState = Exclude<MovableState, ReceivingState>;

/**
 * What the stock should be. Available and incoming stock move between buckets by gathering, rebalancing and
 * bulk moves, so only their totals are modelled; every other state changes only in a bucket the model knows
 * (the one an operation reports), so it is modelled per bucket.
 */
class StockModel {
  available: number;
  incoming = 0;
  readonly buckets: BucketModel[];
  readonly open: Hold[] = [];
  readonly settled: { hold: Hold; settled: 'released' | 'committed' }[] = [];

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

describe('stock ledger against an in-memory model', () => {
  let shards: ShardSet;
  /** Two services with their own head caches, like two processes: operations alternate between them. */
  let services: StockService[];

  beforeAll(async () => {
    shards = await connectTestShards();
    // No summary caching: after every operation the summary must equal the model exactly.
    services = [0, 1].map(() => new StockService(shards, { summaryMaxAgeMs: 0 }));
  });
  afterAll(async () => {
    await shards?.close();
  });

  async function runSequence(bucketCount: number, initial: number, ops: readonly Op[]) {
    const sku = uniqueId('model');
    const [first] = services as [StockService];
    await first.createProduct(productInput(sku, bucketCount), initial);
    const buckets = first.bucketsOf(await first.product(sku));
    const model = new StockModel(bucketCount, initial);
    /** Earlier operations, each as a re-run with its own id (on either service) that asserts it changed nothing. */
    const done: ((stock: StockService) => Promise<void>)[] = [];
    const heads = async () =>
      (await Promise.all(buckets.map((b) => first.ledger.head(b, true)))).map((h) => h!.balances);
    const availables = async () => (await heads()).map((b) => b.available);

    for (const [i, o] of ops.entries()) {
      const stock = services[i % services.length]!;
      const opId = `${sku}.${i}`;
      const step = `op ${i} ${JSON.stringify(o)}`;
      switch (o.kind) {
        case 'reserve': {
          // Reservations gather stock, from available or incoming alike.
          const outcome = await stock.reserve(opId, sku, o.qty, o.from);
          if (model[o.from] >= o.qty) {
            expect(outcome, step).toEqual({
              status: 'taken',
              hold: { holdId: opId, sku, bucket: expect.any(Number), qty: o.qty, seq: expect.any(Number) },
            });
            if (outcome.status !== 'taken') break;
            model[o.from] -= o.qty;
            model.buckets[outcome.hold.bucket]!.held += o.qty;
            model.open.push(outcome.hold);
          } else {
            expect(outcome, step).toEqual({ status: 'insufficient', available: model[o.from] });
          }
          // Run again, it answers with the hold as it is by then, or how it ended.
          done.push(async (stock) =>
            expect(await stock.reserve(opId, sku, o.qty, o.from), `repeat of ${step}`).toEqual(
              model.answerFor(opId) ?? outcome,
            ),
          );
          break;
        }
        case 'settle': {
          if (model.open.length === 0) break;
          const [hold] = model.open.splice(o.pick % model.open.length, 1) as [Hold];
          const settled = o.as === 'release' ? 'released' : 'committed';
          const to = o.as === 'release' ? o.to : undefined;
          expect(await stock.settle(hold, o.as, to), step).toEqual({ settled, byThisCall: true });
          model.buckets[hold.bucket]!.held -= hold.qty;
          if (o.as === 'release') model[o.to] += hold.qty;
          else model.buckets[hold.bucket]!.sold += hold.qty;
          model.settled.push({ hold, settled });
          done.push(async (stock) =>
            expect(await stock.settle(hold, o.as), `repeat of ${step}`).toEqual({ settled, byThisCall: false }),
          );
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
          done.push(async (stock) => expect(await stock.trim(hold, keep, o.to), `repeat of ${step}`).toEqual(trimmed));
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
          const incomingByBucket = (await heads()).map((b) => b.incoming);
          const from =
            o.from === 'stocked'
              ? (movableStates.find((s) => s !== 'available' && model.canMove(s, o.qty, incomingByBucket)) ??
                'returned')
              : o.from;
          if (from === o.to) break;
          const move = (via: StockService) => via.moveState(opId, sku, o.qty, from, o.to);
          if (model.canMove(from, o.qty, incomingByBucket)) {
            const hold = await move(stock);
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
            done.push((again) =>
              expect(move(again), `repeat of ${step}`).rejects.toBeInstanceOf(InsufficientStockError),
            );
          }
          break;
        }
        case 'transfer': {
          if (bucketCount === 1) break;
          const from = o.from % bucketCount;
          const to = (from + 1 + (o.offset % (bucketCount - 1))) % bucketCount;
          const before = await availables();
          const moved = await stock.transfer(opId, sku, from, to, o.qty);
          expect(moved, step).toBe(Math.min(o.qty, before[from]!));
          const after = [...before];
          after[from]! -= moved;
          after[to]! += moved;
          expect(await availables(), step).toEqual(after);
          // A transfer that found nothing to move recorded nothing: only one that moved units must repeat as a no-op.
          if (moved > 0) {
            done.push(async (stock) => {
              const unchanged = await availables();
              expect(await stock.transfer(opId, sku, from, to, o.qty), `repeat of ${step}`).toBe(moved);
              expect(await availables(), `repeat of ${step}`).toEqual(unchanged);
            });
          }
          break;
        }
        case 'rebalance': {
          const before = await availables();
          const plan = planRebalance(before);
          const expected = [...before];
          for (const t of plan) {
            expected[t.from]! -= t.qty;
            expected[t.to]! += t.qty;
          }
          expect(await stock.rebalance(opId, sku), step).toBe(plan.reduce((s, t) => s + t.qty, 0));
          expect(await availables(), step).toEqual(expected);
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
          expect(await moveAll(stock), step).toBe(model[o.from]);
          model[to] += model[o.from];
          model[o.from] = 0;
          // No repeat: a bucket that had nothing to move recorded nothing, so run again the operation moves
          // what has arrived there since (like a transfer that found nothing), and the model has no buckets here.
          break;
        }
        case 'repeat': {
          if (done.length === 0) break;
          await done[o.pick % done.length]!(stock);
          break;
        }
      }
      const summary = await stock.summary(sku);
      expect(
        {
          available: summary.available,
          held: summary.held,
          sold: summary.sold,
          incoming: summary.incoming,
          ...summary.nonSellable,
          received: summary.received,
        },
        `totals after ${step}`,
      ).toEqual(model.totals());
      expect(summary.inTransit, `in transit after ${step}`).toBe(0);
    }

    const report = await expectCleanLedger(first, shards, sku);
    expect(report.totals).toMatchObject(model.totals());
    expect(report).toMatchObject({ inTransit: 0, openHolds: model.open.length, unrecorded: 0 });
    expect(
      (await heads()).map(({ held, sold, returned, repair, damaged, received }) => ({
        held,
        sold,
        returned,
        repair,
        damaged,
        received,
      })),
    ).toEqual(model.buckets);
  }

  it('matches the model after every operation of random sequences, invariants holding at the end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(op, { maxLength: 25, size: 'max' }),
        (bucketCount, initial, ops) => runSequence(bucketCount, initial, ops),
      ),
      { numRuns: 20 },
    );
  }, 120_000);
});
