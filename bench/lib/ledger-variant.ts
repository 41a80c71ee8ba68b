import type { ShardSet } from '../../src/db';
import { checkInvariants, StockService } from '../../src/stock';
import type { SkuUnderTest, Variant } from './variant';

/** holdfast's stock ledger: add-to-cart is StockService.reserve of one unit, over `buckets` escrow buckets. */
export function ledgerVariant(name: string, shards: ShardSet, buckets: number): Variant {
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
        async attempt(key) {
          const outcome = await stock.reserve(`${sku}-${key}`, sku, 1);
          return outcome.status === 'taken';
        },
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
  };
}
