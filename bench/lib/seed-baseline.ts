import type { Collection } from 'mongodb';
import type { Attempt, SkuUnderTest, Variant } from './variant';

export interface CartLine {
  readonly sku: string;
  readonly cartId: string;
  readonly status: 'pending' | 'purchased';
}

/**
 * The shop's current add-to-cart, as the baseline: count the lines that claim the SKU, insert one more when the
 * count is below the stock. The count and the insert are two steps, so carts racing for the last units can all
 * see room for them.
 */
export function seedBaseline(lines: Collection<CartLine>): Variant {
  const attach =
    (sku: string, units: number): Attempt =>
    async (key) => {
      const claimed = await lines.countDocuments({ sku, status: { $in: ['pending', 'purchased'] } });
      if (claimed >= units) return false;
      await lines.insertOne({ sku, cartId: `${sku}-${key}`, status: 'pending' });
      return true;
    };
  return {
    name: 'seed-baseline',
    sellsStock: true,
    attach,
    async open(sku, units): Promise<SkuUnderTest> {
      return {
        sku,
        attempt: attach(sku, units),
        async granted(told, clean) {
          const inserted = await lines.countDocuments({ sku });
          if (clean && inserted !== told)
            throw new Error(`seed-baseline ${sku}: clients were told ${told}, ${inserted} lines`);
          return inserted;
        },
        // Every count scans the SKU's lines: start each cell from an empty collection, as the first cell did.
        async dispose() {
          await lines.deleteMany({ sku });
        },
      };
    },
  };
}
