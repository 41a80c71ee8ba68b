import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { ensureSchema, ShardSet, shardKeyProblem } from '../src/db';
import { checkInvariants, StockService, type ProductInput } from '../src/stock';

/** A unique suffix for ids, task queues and database names, so tests never see each other's data. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * Commands this test file sent that mongos would route badly or refuse (see shardKeyProblem): every test's
 * databases are watched, and test/setup-runtime.ts fails the file when any were sent.
 */
export const shardKeyProblems = new Set<string>();

/**
 * Connects to the test run's shards (or to `uris`: proxies of them) with fresh stock and carts databases, schema
 * in place.
 */
export async function connectTestShards(uris: readonly string[] = inject('mongoUris')): Promise<ShardSet> {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 12);
  const shards = await ShardSet.connect({
    uris,
    stockDb: `t_stock_${suffix}`,
    cartsDb: `t_carts_${suffix}`,
    onCommand: (db, event) => {
      const problem = shardKeyProblem(db, event);
      if (problem !== undefined) shardKeyProblems.add(problem);
    },
  });
  await ensureSchema(shards);
  return shards;
}

/**
 * For a describe block: fresh databases and a StockService over them, closed after its tests. Read the fields
 * inside tests (they are set in beforeAll).
 */
export function useStockService(): { shards: ShardSet; stock: StockService } {
  const ctx = {} as { shards: ShardSet; stock: StockService };
  beforeAll(async () => {
    ctx.shards = await connectTestShards();
    ctx.stock = new StockService(ctx.shards);
  });
  afterAll(async () => {
    await ctx.shards?.close();
  });
  return ctx;
}

/** A product named after its SKU at 100 cents: strict, two buckets, no low-stock reorder, unless overridden. */
export function productInput(sku: string, overrides: Partial<ProductInput> = {}): ProductInput {
  return {
    sku,
    name: sku,
    priceCents: 100,
    policy: 'strict',
    buckets: 2,
    lowStockThreshold: 0,
    reorderQuantity: 0,
    ...overrides,
  };
}

/** A backorder product with no low-stock reorder: what the ledger's hold and transfer tests create. */
export function backorderProductInput(sku: string, buckets: number): ProductInput {
  return productInput(sku, { name: `Widget ${sku}`, priceCents: 1999, policy: 'backorder', buckets });
}

/** The SKU's ledger replays clean; the report, for a test's further checks of its totals. */
export async function expectCleanLedger(
  stock: StockService,
  shards: ShardSet,
  sku: string,
  options?: Parameters<typeof checkInvariants>[3],
) {
  const report = await checkInvariants(stock, shards, sku, options);
  expect(report.violations).toEqual([]);
  return report;
}
