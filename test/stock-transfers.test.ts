import { beforeAll, describe, expect, it } from 'vitest';
import type { ShardSet } from '../src/db';
import { bucketOrder, checkInvariants, StockService, transferOpId, type BucketLedger } from '../src/stock';
import { backorderProductInput, expectCleanLedger, uniqueId, useStockService } from './helpers';

/** Makes `stock` die right before it reserves for `opId` once it has gathered stock (a crashed worker). */
function crashAfterGathering(stock: StockService, opId: string) {
  const append = stock.ledger.append.bind(stock.ledger);
  let gathered = false;
  stock.ledger.append = async (...args: Parameters<BucketLedger['append']>) => {
    const [, op, plan] = args;
    // The reservation is a group commit's entry (a planner, under its batch's id).
    if (typeof plan === 'function' && op.startsWith('batch:') && gathered) throw new Error('worker crashed');
    const result = await append(...args);
    if (typeof plan !== 'function' && plan.kind === 'transfer_in' && op.startsWith(`${opId}:`)) gathered = true;
    return result;
  };
}

describe('transfers between buckets', () => {
  const ctx = useStockService();
  let shards: ShardSet;
  let stock: StockService;
  beforeAll(() => ({ shards, stock } = ctx));

  async function heads(sku: string) {
    const buckets = stock.bucketsOf(await stock.product(sku));
    return (await Promise.all(buckets.map((b) => stock.ledger.head(b, true)))).map((h) => h!.balances);
  }

  it('creates no units when a run dies mid-gather and its retry finds other balances', async () => {
    // Writers without bucket leases: a background refill would move stock too, and the counts below are exact.
    const stock = new StockService(shards, { ownership: false });
    const sku = uniqueId('two-targets');
    await stock.createProduct(backorderProductInput(sku, 3), 12); // 4 per bucket
    const buckets = stock.bucketsOf(await stock.product(sku));
    // An operation whose two choices are buckets 1 and 2, so that bucket 0 is both runs' first source.
    const choices = (id: string) => bucketOrder(buckets, id, () => 0).map((b) => b.index);
    let opId = uniqueId('op');
    while (choices(opId).join() !== '1,2,0') opId = uniqueId('op');

    // The first run gathers 2 units from bucket 0 into bucket 1, then dies before reserving.
    const first = new StockService(shards, { ownership: false });
    crashAfterGathering(first, opId);
    await expect(first.reserve(opId, sku, 6)).rejects.toThrow('worker crashed');
    expect((await heads(sku)).map((b) => b.available)).toEqual([2, 6, 4]);
    // Other shoppers take what it gathered.
    const other = await stock.reserve(uniqueId('op'), sku, 6);
    expect(other).toMatchObject({ status: 'taken', hold: { bucket: 1 } });

    // Bucket 2 has the most now, but the retry gathers into the operation's own target again (bucket 1): the
    // first run's transfer is found complete, not sent a second time, and the rest is moved under new keys.
    const retry = await stock.reserve(opId, sku, 6);
    expect(retry).toEqual({ status: 'taken', hold: { holdId: opId, sku, bucket: 1, qty: 6, seq: expect.any(Number) } });
    const report = await expectCleanLedger(stock, shards, sku);
    expect(report.totals.available + report.totals.held).toBe(12);
    expect(report.totals).toMatchObject({ available: 0, held: 12, transferredIn: 8, transferredOut: 8 });
  });

  it('flags a transfer_out without its transfer_in at rest, and completes it by repair', async () => {
    const sku = uniqueId('repair');
    await stock.createProduct(backorderProductInput(sku, 2), 10);
    const [b0] = stock.bucketsOf(await stock.product(sku));
    const move = uniqueId('move');
    await stock.ledger.append(b0!, transferOpId(move, 0, 1), { kind: 'transfer_out', qty: 3 }, { ref: '1' });

    const atRest = await checkInvariants(stock, shards, sku);
    expect(atRest.inTransit).toBe(3);
    expect(atRest.violations).toEqual([expect.stringMatching(/transfer .* of 3 to bucket 1 not received/)]);
    expect(await checkInvariants(stock, shards, sku, { inFlight: true })).toMatchObject({
      violations: [],
      inTransit: 3,
    });

    expect(await stock.repairTransfers(sku)).toBe(3);
    expect(await new StockService(shards).repairTransfers(sku)).toBe(0);
    // The transfer's own run, coming back, finds it complete.
    expect(await stock.transfer(move, sku, 0, 1, 3)).toBe(3);
    const report = await checkInvariants(stock, shards, sku);
    expect(report).toMatchObject({ violations: [], inTransit: 0 });
    expect((await heads(sku)).map((b) => b.available)).toEqual([2, 8]);
  });

  it('reads the ledgers as of one instant while a transfer moves stock between them', async () => {
    const sku = uniqueId('audit-skew');
    await stock.createProduct(backorderProductInput(sku, 2), 8);
    // The auditor reads bucket 0, then a transfer from 0 to 1 runs, then it reads bucket 1: read one after the
    // other, its transfer_in has no transfer_out and 2 units look made from nothing.
    const auditor = new StockService(shards, { ownership: false });
    const entries = auditor.ledger.entries.bind(auditor.ledger);
    let moved: Promise<number> | undefined;
    let readFirst!: () => void;
    const firstRead = new Promise<void>((resolve) => (readFirst = resolve));
    auditor.ledger.entries = async (bucket, kinds) => {
      if (bucket.index === 0) {
        const read = await entries(bucket, kinds);
        moved ??= stock.transfer(uniqueId('move'), sku, 0, 1, 2);
        readFirst();
        return read;
      }
      await firstRead;
      await moved;
      return entries(bucket, kinds);
    };
    const report = await checkInvariants(auditor, shards, sku);
    expect(report).toMatchObject({ violations: [], inTransit: 0 });
    expect(report.totals).toMatchObject({ available: 8, transferredIn: 2, transferredOut: 2 });
  });

  it('flags a transfer_in that no transfer_out sent', async () => {
    const sku = uniqueId('orphan');
    await stock.createProduct(backorderProductInput(sku, 2), 4);
    const [, b1] = stock.bucketsOf(await stock.product(sku));
    await stock.ledger.append(b1!, transferOpId('ghost', 0, 1), { kind: 'transfer_in', qty: 2 }, { ref: '0' });
    const report = await checkInvariants(stock, shards, sku, { inFlight: true });
    expect(report.violations).toEqual([
      expect.stringMatching(/transfer_in of ghost:0>1 without its transfer_out/),
      'received 4 != in states 6 + in transit 0',
    ]);
  });

  it('gathers incoming units into one bucket for a backorder fill no single bucket can serve', async () => {
    const sku = uniqueId('gather-incoming');
    await stock.createProduct(backorderProductInput(sku, 4), 8);
    expect(await stock.holdForBackorders(uniqueId('sweep'), sku)).toBe(8); // 2 incoming per bucket
    const fill = await stock.reserve(uniqueId('fill'), sku, 5, 'incoming');
    expect(fill).toMatchObject({ status: 'taken', hold: { qty: 5 } });
    // Only incoming units moved: new shoppers still find nothing available.
    expect(await stock.reserve(uniqueId('op'), sku, 1)).toEqual({ status: 'insufficient', available: 0 });
    expect(await stock.reserve(uniqueId('fill'), sku, 4, 'incoming')).toEqual({ status: 'insufficient', available: 3 });

    const report = await expectCleanLedger(stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 0, incoming: 3, held: 5, transferredIn: 3 });
    const buckets = stock.bucketsOf(await stock.product(sku));
    const outs = (await Promise.all(buckets.map((b) => stock.ledger.entries(b, ['transfer_out'])))).flat();
    expect(outs.map((e) => e.movement)).toEqual(
      outs.map((e) => ({ kind: 'transfer_out', qty: e.qty, from: 'incoming' })),
    );
  });

  it('repairs a half-done transfer of incoming units into incoming', async () => {
    const sku = uniqueId('repair-incoming');
    await stock.createProduct(backorderProductInput(sku, 2), 0);
    await stock.restock(uniqueId('po'), sku, 4, 'incoming'); // all into bucket 0
    const [b0] = stock.bucketsOf(await stock.product(sku));
    const opId = transferOpId(uniqueId('fill'), 0, 1);
    await stock.ledger.append(b0!, opId, { kind: 'transfer_out', qty: 3, from: 'incoming' }, { ref: '1' });
    expect(await stock.repairTransfers(sku)).toBe(3);
    expect((await heads(sku)).map((b) => [b.available, b.incoming])).toEqual([
      [0, 1],
      [0, 3],
    ]);
    await expectCleanLedger(stock, shards, sku);
  });
});
