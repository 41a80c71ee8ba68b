import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ShardSet } from '../src/db';
import { checkInvariants, InvalidStockInputError, StockService, type Hold } from '../src/stock';
import { backorderProductInput, expectCleanLedger, uniqueId, useStockService } from './helpers';

describe('settling, trimming and re-running holds', () => {
  const ctx = useStockService();
  let shards: ShardSet;
  let stock: StockService;
  beforeAll(() => ({ shards, stock } = ctx));

  const expectInvariants = (sku: string) => expectCleanLedger(stock, shards, sku);

  async function hold(opId: string, sku: string, qty: number): Promise<Hold> {
    const outcome = await stock.reserve(opId, sku, qty);
    if (outcome.status !== 'taken') throw new Error(`expected a hold, got ${JSON.stringify(outcome)}`);
    return outcome.hold;
  }

  it('releases a hold to incoming when asked, and only a release', async () => {
    const sku = uniqueId('release-to');
    await stock.createProduct(backorderProductInput(sku, 2), 10);
    const a = await hold(uniqueId('op'), sku, 3);
    const b = await hold(uniqueId('op'), sku, 2);
    await expect(stock.settle(b, 'commit', 'incoming')).rejects.toBeInstanceOf(InvalidStockInputError);
    expect(await stock.settle(a, 'release', 'incoming')).toEqual({ settled: 'released', byThisCall: true });
    expect(await stock.settle(a, 'release', 'incoming')).toEqual({ settled: 'released', byThisCall: false });
    expect(await stock.settle(b, 'release')).toEqual({ settled: 'released', byThisCall: true });
    expect((await expectInvariants(sku)).totals).toMatchObject({ available: 7, incoming: 3, held: 0 });
    // The backorder queue can take them; new shoppers cannot.
    expect(await stock.reserve(uniqueId('op'), sku, 8)).toEqual({ status: 'insufficient', available: 7 });
    expect((await stock.reserve(uniqueId('fill'), sku, 3, 'incoming')).status).toBe('taken');
    expect((await expectInvariants(sku)).totals).toMatchObject({ available: 7, incoming: 0, held: 3 });
  });

  it('trims a hold of a sold-out SKU, once however often it is retried, then settles what is left', async () => {
    const sku = uniqueId('trim');
    await stock.createProduct(backorderProductInput(sku, 2), 6);
    const full = await hold(uniqueId('op'), sku, 6);
    expect(await stock.reserve(uniqueId('op'), sku, 1)).toEqual({ status: 'insufficient', available: 0 });

    const four = await stock.trim(full, 4);
    expect(four).toEqual({ ...full, qty: 4 });
    expect(await stock.trim(full, 4)).toEqual(four);
    expect(await new StockService(shards).trim(full, 4)).toEqual(four);
    expect((await expectInvariants(sku)).totals).toMatchObject({ available: 2, held: 4 });

    const one = await stock.trim(four, 1, 'incoming');
    expect(await stock.trim(four, 1, 'incoming')).toEqual(one);
    const open = await expectInvariants(sku);
    expect(open).toMatchObject({ openHolds: 1 });
    expect(open.totals).toMatchObject({ available: 2, incoming: 3, held: 1 });

    for (const keep of [0, 1, 1.5, -1]) {
      await expect(stock.trim(one, keep)).rejects.toBeInstanceOf(InvalidStockInputError);
    }
    // A size the hold never had is not one to settle.
    await expect(stock.settle({ ...full, qty: 2 }, 'commit')).rejects.toBeInstanceOf(InvalidStockInputError);
    expect(await stock.settle(one, 'commit')).toEqual({ settled: 'committed', byThisCall: true });
    expect(await stock.settle(four, 'release')).toEqual({ settled: 'committed', byThisCall: false });
    const settled = await expectInvariants(sku);
    expect(settled).toMatchObject({ openHolds: 0 });
    expect(settled.totals).toMatchObject({ available: 2, incoming: 3, held: 0, sold: 1 });
  });

  it('flags a settle that ignores the trims before it', async () => {
    const sku = uniqueId('trim-check');
    await stock.createProduct(backorderProductInput(sku, 1), 5);
    const full = await hold(uniqueId('op'), sku, 5);
    await stock.trim(full, 3);
    // Written past the service, which would refuse it: a settle of the untrimmed size.
    const [bucket] = stock.bucketsOf(await stock.product(sku));
    await stock.ledger.append(bucket!, `settle:${full.holdId}`, { kind: 'release', qty: 2 }, { ref: full.holdId });
    const report = await checkInvariants(stock, shards, sku);
    expect(report.violations).toEqual([
      expect.stringMatching(/settles no hold of its bucket/),
      `${bucket!.id}: held 1 != unsettled reservations 0`,
    ]);
  });

  it('answers a re-run of a settled hold with how it ended, never as an open hold', async () => {
    const sku = uniqueId('rerun');
    await stock.createProduct(backorderProductInput(sku, 2), 10);
    const released = await hold(uniqueId('op'), sku, 2);
    const committed = await hold(uniqueId('op'), sku, 3);
    const open = await hold(uniqueId('op'), sku, 1);
    await stock.settle(released, 'release');
    await stock.settle(committed, 'commit');

    for (const via of [stock, new StockService(shards)]) {
      expect(await via.reserve(released.holdId, sku, 2)).toEqual({
        status: 'settled',
        hold: released,
        settled: 'released',
      });
      expect(await via.reserve(committed.holdId, sku, 3)).toEqual({
        status: 'settled',
        hold: committed,
        settled: 'committed',
      });
      expect(await via.reserve(open.holdId, sku, 1)).toEqual({ status: 'taken', hold: open });
    }
    const report = await expectInvariants(sku);
    expect(report).toMatchObject({ openHolds: 1 });
    expect(report.totals).toMatchObject({ available: 6, held: 1, sold: 3 });
  });

  it('answers a re-run of a trimmed hold with the hold as its last trim left it', async () => {
    const sku = uniqueId('rerun-trimmed');
    await stock.createProduct(backorderProductInput(sku, 2), 10);
    const open = await stock.trim(await hold(uniqueId('op'), sku, 3), 2);
    const ended = await stock.trim(await stock.trim(await hold(uniqueId('op'), sku, 4), 3), 1);
    await stock.settle(ended, 'commit');
    for (const via of [stock, new StockService(shards)]) {
      expect(await via.reserve(open.holdId, sku, 3)).toEqual({ status: 'taken', hold: open });
      expect(await via.reserve(ended.holdId, sku, 4)).toEqual({ status: 'settled', hold: ended, settled: 'committed' });
    }
    const report = await expectInvariants(sku);
    expect(report).toMatchObject({ openHolds: 1 });
    expect(report.totals).toMatchObject({ available: 7, held: 2, sold: 1 });
  });

  it('finds the trims and settle of a hold far behind the head, for a re-run of a long-settled id', async () => {
    const sku = uniqueId('long-ago');
    await stock.createProduct(backorderProductInput(sku, 1), 3);
    const trimmed = await stock.trim(await hold(uniqueId('op'), sku, 3), 2);
    const [bucket] = stock.bucketsOf(await stock.product(sku));
    for (let i = 0; i < 530; i++) await stock.ledger.append(bucket!, `po-${i}`, { kind: 'receive', qty: 1 });
    expect(await stock.reserve(trimmed.holdId, sku, 3)).toEqual({ status: 'taken', hold: trimmed });
    await stock.settle(trimmed, 'commit');
    for (let i = 530; i < 1060; i++) await stock.ledger.append(bucket!, `po-${i}`, { kind: 'receive', qty: 1 });
    expect(await new StockService(shards).reserve(trimmed.holdId, sku, 3)).toEqual({
      status: 'settled',
      hold: trimmed,
      settled: 'committed',
    });
    await expectInvariants(sku);
  });

  it('looks for a settle on a re-run only: a first run reads no ledger entries beyond the heads', async () => {
    const sku = uniqueId('hot');
    await stock.createProduct(backorderProductInput(sku, 2), 10);
    const via = new StockService(shards);
    const findMatching = vi.spyOn(via.ledger, 'findMatching');
    const opId = uniqueId('op');
    expect((await via.reserve(opId, sku, 2)).status).toBe('taken');
    expect(findMatching).not.toHaveBeenCalled();
    expect((await via.reserve(opId, sku, 2)).status).toBe('taken');
    expect(findMatching).toHaveBeenCalled();
  });
});
