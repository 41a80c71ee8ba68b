import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ShardSet } from '../src/db';
import { StockService, type Hold } from '../src/stock';
import { expectCleanLedger, uniqueId, useStockService } from './helpers';

const run = promisify(execFile);
const reserver = path.join(import.meta.dirname, 'fixtures', 'reserver.ts');

interface ReserverResult {
  kept: Hold[];
  released: number;
  refused: number;
}

/** Races `processes` OS processes, each reserving `perProcess` units concurrently. */
async function race(
  shards: ShardSet,
  sku: string,
  processes: number,
  perProcess: number,
  options: { releaseRate?: number; sharedOps?: string[] } = {},
): Promise<ReserverResult[]> {
  const db = shards.stockDb(0);
  return Promise.all(
    Array.from({ length: processes }, async (_, p) => {
      const args = {
        uris: inject('mongoUris'),
        stockDb: db.databaseName,
        cartsDb: shards.cartsDb(0).databaseName,
        sku,
        prefix: `${sku}-p${p}`,
        count: perProcess,
        releaseRate: options.releaseRate ?? 0,
        sharedOps: options.sharedOps ?? [],
      };
      const { stdout } = await run(process.execPath, ['--import', 'tsx', reserver, JSON.stringify(args)], {
        maxBuffer: 10 * 1024 * 1024,
      });
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as ReserverResult;
    }),
  );
}

describe('racing for the last units from several OS processes', () => {
  const ctx = useStockService();
  let shards: ShardSet;
  let stock: StockService;
  beforeAll(() => ({ shards, stock } = ctx));

  function product(sku: string) {
    return {
      sku,
      name: sku,
      priceCents: 500,
      policy: 'strict' as const,
      buckets: 8,
      lowStockThreshold: 0,
      reorderQuantity: 0,
    };
  }

  it('200 reservers in two processes for 100 units: exactly 100 succeed', async () => {
    const sku = uniqueId('race');
    await stock.createProduct(product(sku), 100);
    const results = await race(shards, sku, 2, 100);
    const kept = results.flatMap((r) => r.kept);
    expect(kept).toHaveLength(100);
    expect(results.reduce((n, r) => n + r.refused, 0)).toBe(100);
    expect(new Set(kept.map((h) => h.holdId)).size).toBe(100);

    const report = await expectCleanLedger(stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 0, held: 100 });
    expect(report.openHolds).toBe(100);
  });

  it('with random releases interleaved, final availability is exact', async () => {
    const sku = uniqueId('churn');
    await stock.createProduct(product(sku), 100);
    const results = await race(shards, sku, 2, 150, { releaseRate: 0.3 });
    const kept = results.flatMap((r) => r.kept).length;
    expect(kept).toBeLessThanOrEqual(100);
    const report = await expectCleanLedger(stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 100 - kept, held: kept });
    // The display summary, recomputed from the bucket heads, agrees with the replayed ledger.
    expect((await new StockService(shards).summary(sku)).available).toBe(100 - kept);
  });

  it('the same operation ids run concurrently in two processes have one effect each', async () => {
    const sku = uniqueId('twins');
    await stock.createProduct(product(sku), 30);
    const sharedOps = Array.from({ length: 20 }, (_, i) => `${sku}-shared-${i}`);
    const results = await race(shards, sku, 2, 0, { sharedOps });
    for (const opId of sharedOps) {
      const seen = results.map((r) => r.kept.find((h) => h.holdId === opId));
      expect(seen[0]).toBeDefined();
      expect(seen[1]).toEqual(seen[0]);
    }
    const report = await expectCleanLedger(stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 10, held: 20 });
  });
});
