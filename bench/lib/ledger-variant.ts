import type { ShardSet } from '../../src/db';
import { checkInvariants, StockService } from '../../src/stock';
import type { Attempt, SkuUnderTest, Variant } from './variant';

/** holdfast's stock ledger: add-to-cart is StockService.reserve of one unit, over `buckets` escrow buckets. */
export function ledgerVariant(name: string, shards: ShardSet, buckets: number): Variant {
  const reserveOne =
    (stock: StockService, sku: string): Attempt =>
    async (key) => {
      const outcome = await stock.reserve(`${sku}-${key}`, sku, 1);
      return outcome.status === 'taken';
    };
  return {
    name,
    sellsStock: true,
    async open(sku, units): Promise<SkuUnderTest> {
      // One service per SKU, shared by every client, like one API process serving many shoppers.
      const stock = new StockService(shards);
      await stock.createProduct(
        { sku, name: sku, priceCents: 100, policy: 'strict', buckets, lowStockThreshold: 0, reorderQuantity: 0 },
        units,
      );
      return {
        sku,
        attempt: reserveOne(stock, sku),
        async granted(told, clean) {
          const report = await checkInvariants(stock, shards, sku);
          if (!report.ok) {
            throw new Error(`${name} ${sku}: ledger invariants violated:\n  ${report.violations.join('\n  ')}`);
          }
          // Nothing is settled during a race, so every granted unit is still held.
          const held = report.totals.held;
          if (clean && held !== told)
            throw new Error(`${name} ${sku}: clients were granted ${told}, ledger holds ${held}`);
          return Math.max(told, held);
        },
        // Ledger reads go by _id, so entries left behind cost the next cells nothing.
        async dispose() {},
      };
    },
    // A service of this process's own, with its own head cache, as another API process would have.
    attach: (sku) => reserveOne(new StockService(shards), sku),
  };
}
