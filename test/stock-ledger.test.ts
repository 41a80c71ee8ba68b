import { beforeAll, describe, expect, it } from 'vitest';
import { collections, ensureSchema, type ShardSet } from '../src/db';
import {
  checkInvariants,
  holdForBackordersRef,
  InsufficientStockError,
  StockService,
  transferOpId,
  type ProductInput,
} from '../src/stock';
import { expectCleanLedger, uniqueId, useStockService } from './helpers';

function productInput(sku: string, overrides: Partial<ProductInput> = {}): ProductInput {
  return {
    sku,
    name: `Widget ${sku}`,
    priceCents: 1999,
    policy: 'strict',
    buckets: 8,
    lowStockThreshold: 5,
    reorderQuantity: 50,
    ...overrides,
  };
}

describe('stock ledger on FerretDB', () => {
  const ctx = useStockService();
  let shards: ShardSet;
  let stock: StockService;
  beforeAll(() => ({ shards, stock } = ctx));

  const expectInvariants = (sku: string) => expectCleanLedger(stock, shards, sku);

  it('creates a product whose stock is split over buckets on every shard', async () => {
    const sku = uniqueId('create');
    await stock.createProduct(productInput(sku), 100);
    const buckets = stock.bucketsOf(await stock.product(sku));
    expect(new Set(buckets.map((b) => b.shard)).size).toBe(shards.size);
    const summary = await stock.summary(sku);
    expect(summary).toMatchObject({ available: 100, held: 0, sold: 0, received: 100 });
    // Same definition again: a no-op.
    await stock.createProduct(productInput(sku), 100);
    await expect(stock.createProduct(productInput(sku, { priceCents: 1 }), 100)).rejects.toThrow(
      /different definition/,
    );
    expect((await expectInvariants(sku)).totals.available).toBe(100);
  });

  it('reserves, releases and commits holds, each settle happening once', async () => {
    const sku = uniqueId('hold');
    await stock.createProduct(productInput(sku), 10);
    const a = await stock.reserve(uniqueId('op'), sku, 3);
    const b = await stock.reserve(uniqueId('op'), sku, 1);
    if (a.status !== 'taken' || b.status !== 'taken') throw new Error('expected holds');
    expect(await stock.settle(a.hold, 'release')).toEqual({ settled: 'released', byThisCall: true });
    expect(await stock.settle(a.hold, 'release')).toEqual({ settled: 'released', byThisCall: false });
    // A commit after the release loses: the hold ended already.
    expect(await stock.settle(a.hold, 'commit')).toEqual({ settled: 'released', byThisCall: false });
    expect(await stock.settle(b.hold, 'commit')).toEqual({ settled: 'committed', byThisCall: true });
    const report = await expectInvariants(sku);
    expect(report.totals).toMatchObject({ available: 9, held: 0, sold: 1 });
  });

  it('refuses when every bucket is empty, and never before', async () => {
    const sku = uniqueId('last');
    await stock.createProduct(productInput(sku), 8);
    const results = [];
    for (let i = 0; i < 9; i++) results.push(await stock.reserve(uniqueId('op'), sku, 1));
    expect(results.filter((r) => r.status === 'taken')).toHaveLength(8);
    expect(results[8]).toEqual({ status: 'insufficient', available: 0 });
    await expectInvariants(sku);
  });

  it('records a refusal once, and adopts a crashed run that took the last units rather than refuse it', async () => {
    const sku = uniqueId('refusal');
    await stock.createProduct(productInput(sku, { buckets: 2 }), 2);
    const all = await stock.reserve(uniqueId('op'), sku, 2);
    if (all.status !== 'taken') throw new Error('expected a hold');
    const refused = uniqueId('op');
    expect(await stock.reserve(refused, sku, 1)).toEqual({ status: 'insufficient', available: 0 });
    await stock.settle(all.hold, 'release');
    // The same operation again, here or in another process, gives the recorded answer and takes nothing.
    expect(await stock.reserve(refused, sku, 1)).toEqual({ status: 'insufficient', available: 0 });
    expect(await new StockService(shards).reserve(refused, sku, 1)).toEqual({ status: 'insufficient', available: 0 });
    expect((await expectInvariants(sku)).totals).toMatchObject({ available: 2, held: 0 });

    // A run that claimed a place in a batch, whose batch took the last units, and that died before answering:
    // the SKU now looks sold out, but the retry finds the claim and adopts that stock.
    const soldOut = uniqueId('crash-last');
    await stock.createProduct(productInput(soldOut, { buckets: 1 }), 3);
    const opId = uniqueId('op');
    await crashedAfterBatch(soldOut, opId, 3, 0, true);
    expect(await stock.reserve(opId, soldOut, 3)).toEqual({
      status: 'taken',
      hold: { holdId: opId, sku: soldOut, bucket: 0, qty: 3, seq: 1 },
    });
    expect((await expectInvariants(soldOut)).totals).toMatchObject({ available: 0, held: 3 });
  });

  it('gives entries written before the placement slot their slot once, at the next start', async () => {
    const sku = uniqueId('legacy');
    await stock.createProduct(productInput(sku, { buckets: 2 }), 4);
    const taken = await stock.reserve(uniqueId('op'), sku, 1);
    expect(taken.status).toBe('taken');
    // The ledger as an older holdfast left it: no slot on any entry, the old unique index, no migration done.
    const buckets = stock.bucketsOf(await stock.product(sku));
    for (const b of buckets) {
      await shards
        .stockDb(b.shard)
        .collection(collections.stock.ledger)
        .updateMany({ slot: b.slot, bucketId: b.id }, { $unset: { slot: '' } });
    }
    for (let s = 0; s < shards.size; s++) {
      const db = shards.stockDb(s);
      await db.collection(collections.stock.migrations).deleteMany({ _id: 'ledger-slots' as never });
      await db
        .collection(collections.stock.ledger)
        .createIndex({ bucketId: 1, opKey: 1 }, { unique: true, name: 'bucketId_opKey_unique' });
    }
    const fresh = () => new StockService(shards, { ownership: false });
    // Read by the shard key (slot, bucketId), the entries are not found until they have their slot.
    expect(await fresh().ledger.head(buckets[0]!, true)).toBeUndefined();
    await ensureSchema(shards);
    for (let s = 0; s < shards.size; s++) {
      const indexes = await shards.stockDb(s).collection(collections.stock.ledger).indexes();
      expect(indexes.map((i) => i.name)).not.toContain('bucketId_opKey_unique');
    }
    expect(await fresh().reserve(uniqueId('op'), sku, 3)).toMatchObject({ status: 'taken' });
    expect((await expectInvariants(sku)).totals).toMatchObject({ available: 0, held: 4 });
  });

  /** Writes what a run leaves that claimed a place in a batch of `bucket` and died: the claim, and the batch if `written`. */
  async function crashedAfterBatch(sku: string, opId: string, qty: number, bucket: number, written: boolean) {
    const ref = stock.bucketsOf(await stock.product(sku))[bucket]!;
    const batch = uniqueId('batch:dead-writer');
    const afterSeq = (await stock.ledger.head(ref, true))!.seq;
    await shards
      .stockDb(shards.shardFor(opId))
      .collection('ops')
      .insertOne({
        _id: opId,
        opId,
        attempt: 0,
        sku,
        qty,
        kind: 'reserve',
        bucket,
        batch,
        afterSeq,
        at: new Date(0),
      } as never);
    if (written) {
      await stock.ledger.append(ref, batch, () => ({ movement: { kind: 'reserve', qty }, members: [{ opId, qty }] }));
    }
    return batch;
  }

  it('serves a quantity spanning buckets from one bucket by gathering stock into it', async () => {
    const sku = uniqueId('span');
    await stock.createProduct(productInput(sku), 16); // 2 per bucket
    const big = await stock.reserve(uniqueId('op'), sku, 13);
    expect(big.status).toBe('taken');
    const tooBig = await stock.reserve(uniqueId('op'), sku, 4);
    expect(tooBig).toEqual({ status: 'insufficient', available: 3 });
    const report = await expectInvariants(sku);
    expect(report.totals).toMatchObject({ available: 3, held: 13 });
    expect(report.inTransit).toBe(0);
  });

  it('gives one effect for one operation id, however often and concurrently it runs', async () => {
    const sku = uniqueId('dup');
    await stock.createProduct(productInput(sku), 50);
    const opId = uniqueId('op');
    const others = Array.from({ length: 4 }, () => new StockService(shards)); // separate caches, like processes
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 5 === 0 ? stock : others[i % 4]!).reserve(opId, sku, 2)),
    );
    const holds = new Set(results.map((r) => JSON.stringify(r)));
    expect(holds.size).toBe(1);
    const report = await expectInvariants(sku);
    expect(report.totals).toMatchObject({ available: 48, held: 2 });
  });

  it('adopts the stock a crashed run took instead of taking more', async () => {
    const sku = uniqueId('crash');
    await stock.createProduct(productInput(sku, { buckets: 2 }), 10);
    const opId = uniqueId('op');
    await crashedAfterBatch(sku, opId, 4, 0, true);
    const retry = await new StockService(shards).reserve(opId, sku, 4);
    expect(retry).toEqual({ status: 'taken', hold: { holdId: opId, sku, bucket: 0, qty: 4, seq: 1 } });
    const report = await expectInvariants(sku);
    expect(report.totals).toMatchObject({ available: 6, held: 4 });
  });

  it('voids the batch a crashed run claimed but never wrote, so that it can never land, and takes stock anew', async () => {
    const sku = uniqueId('crash-unwritten');
    await stock.createProduct(productInput(sku, { buckets: 1 }), 10);
    const opId = uniqueId('op');
    const batch = await crashedAfterBatch(sku, opId, 4, 0, false);
    const retry = await new StockService(shards).reserve(opId, sku, 4);
    expect(retry).toMatchObject({ status: 'taken', hold: { holdId: opId, qty: 4 } });
    // The dead writer's batch, written late (a stale process resumed), finds its id taken by the void.
    const [bucket] = stock.bucketsOf(await stock.product(sku));
    const late = await stock.ledger.append(bucket!, batch, () => ({
      movement: { kind: 'reserve', qty: 4 },
      members: [{ opId, qty: 4 }],
    }));
    expect(late).toMatchObject({ status: 'duplicate', entry: { members: [], qty: 0 } });
    const report = await expectInvariants(sku);
    expect(report.totals).toMatchObject({ available: 6, held: 4 });
    expect(report.unrecorded).toBe(0);
  });

  it('completes a transfer that stopped half way when run again', async () => {
    const sku = uniqueId('transfer');
    await stock.createProduct(productInput(sku, { buckets: 2 }), 10);
    const [b0] = stock.bucketsOf(await stock.product(sku));
    const opId = uniqueId('move');
    await stock.ledger.append(b0!, transferOpId(opId, 0, 1), { kind: 'transfer_out', qty: 3 }, { ref: '1' });
    const live = await checkInvariants(stock, shards, sku, { inFlight: true });
    expect(live).toMatchObject({ violations: [], inTransit: 3 });

    expect(await stock.transfer(opId, sku, 0, 1, 3)).toBe(3);
    expect(await stock.transfer(opId, sku, 0, 1, 3)).toBe(3);
    const report = await expectInvariants(sku);
    expect(report.inTransit).toBe(0);
    const heads = await Promise.all(stock.bucketsOf(await stock.product(sku)).map((b) => stock.ledger.head(b, true)));
    expect(heads.map((h) => h?.balances.available)).toEqual([2, 8]);
  });

  it('moves units into and out of non-sellable states', async () => {
    const sku = uniqueId('states');
    await stock.createProduct(productInput(sku, { buckets: 2 }), 10);
    await stock.moveState(uniqueId('op'), sku, 3, 'available', 'damaged');
    const repair = uniqueId('op');
    await stock.moveState(repair, sku, 2, 'damaged', 'repair');
    await stock.moveState(repair, sku, 2, 'damaged', 'repair'); // idempotent
    await stock.moveState(uniqueId('op'), sku, 2, 'repair', 'available');
    await expect(stock.moveState(uniqueId('op'), sku, 2, 'damaged', 'available')).rejects.toBeInstanceOf(
      InsufficientStockError,
    );
    const summary = await new StockService(shards).summary(sku);
    expect(summary).toMatchObject({ available: 9, nonSellable: { damaged: 1, repair: 0, returned: 0 } });
    await expectInvariants(sku);
  });

  it('restocks idempotently and rebalances a bucket that ran low', async () => {
    const sku = uniqueId('restock');
    await stock.createProduct(productInput(sku, { buckets: 4 }), 8);
    expect(await stock.restock('po-1', sku, 8)).toBe(8);
    expect(await stock.restock('po-1', sku, 8)).toBe(8);
    // Drain bucket 0 with holds, then rebalance.
    const b0 = stock.bucketsOf(await stock.product(sku))[0]!;
    await stock.ledger.append(b0, transferOpId('drain', 0, 1), { kind: 'transfer_out', qty: 4 }, { ref: '1' });
    await stock.transfer('drain', sku, 0, 1, 4);
    expect(await stock.rebalance('rb-1', sku)).toBeGreaterThan(0);
    const heads = await Promise.all(stock.bucketsOf(await stock.product(sku)).map((b) => stock.ledger.head(b, true)));
    expect(Math.min(...heads.map((h) => h!.balances.available))).toBeGreaterThanOrEqual(3);
    const report = await expectInvariants(sku);
    expect(report.totals).toMatchObject({ available: 16, received: 16 });
  });
  it('keeps incoming units for backorders until they are put on general sale', async () => {
    const sku = uniqueId('incoming');
    await stock.createProduct(productInput(sku, { buckets: 2, policy: 'backorder' }), 0);
    expect(await stock.restock('po-1', sku, 5, 'incoming')).toBe(5);
    // New shoppers reserve from available only.
    expect(await stock.reserve(uniqueId('op'), sku, 1)).toEqual({ status: 'insufficient', available: 0 });
    expect((await stock.reserve(uniqueId('fill'), sku, 3, 'incoming')).status).toBe('taken');
    expect(await stock.releaseIncoming('leftover-1', sku)).toBe(2);
    expect(await stock.releaseIncoming('leftover-1', sku)).toBe(0);
    const report = await expectInvariants(sku);
    expect(report).toMatchObject({ unrecorded: 0, openHolds: 1 });
    expect(report.totals).toMatchObject({ available: 2, incoming: 0, held: 3, received: 5 });
  });

  it('keeps every available unit for backorders, idempotently, as the mirror of releasing incoming', async () => {
    const sku = uniqueId('sweep');
    await stock.createProduct(productInput(sku, { buckets: 4, policy: 'backorder' }), 8);
    expect((await stock.reserve(uniqueId('op'), sku, 1)).status).toBe('taken');
    expect(await stock.holdForBackorders('sweep-1', sku)).toBe(7);
    expect(await stock.holdForBackorders('sweep-1', sku)).toBe(0);
    expect(await stock.reserve(uniqueId('op'), sku, 1)).toEqual({ status: 'insufficient', available: 0 });
    expect((await stock.reserve(uniqueId('fill'), sku, 2, 'incoming')).status).toBe('taken');

    // Units received later are not swept by a repeat: the operation moved stock once per bucket.
    await stock.restock('po-2', sku, 4);
    await stock.holdForBackorders('sweep-1', sku);
    const report = await expectInvariants(sku);
    expect(report).toMatchObject({ unrecorded: 0, openHolds: 2 });
    expect(report.totals).toMatchObject({ available: 4, incoming: 5, held: 3, received: 12 });
    const buckets = stock.bucketsOf(await stock.product(sku));
    const sweeps = (await Promise.all(buckets.map((b) => stock.ledger.entries(b, ['state_change'])))).flat();
    expect(sweeps.map((e) => [e.opId, e.ref])).toEqual(sweeps.map(() => ['sweep-1', holdForBackordersRef]));
    expect(sweeps.reduce((n, e) => n + e.qty, 0)).toBe(7);
  });
});
