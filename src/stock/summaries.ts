import { addBalances, zeroBalances, type Balances } from './balances';
import type { Catalog } from './catalog';
import type { BucketLedger } from './ledger';
import type { ProductDoc, StockSummary } from './types';

/**
 * Display totals per SKU, recomputed from the bucket heads at most once per max age per process, and forgotten
 * by every movement this process writes. Never used to decide: decisions rest on the ledger's heads.
 */
export class Summaries {
  private readonly summaries = new Map<string, StockSummary>();

  constructor(
    private readonly catalog: Catalog,
    private readonly ledger: BucketLedger,
    private readonly clock: () => Date,
    private readonly maxAgeMs: number,
  ) {}

  /** Display totals for a SKU, recomputed from the bucket heads when older than the max age. */
  async summary(sku: string): Promise<StockSummary> {
    const cached = this.summaries.get(sku);
    if (cached && this.clock().getTime() - cached.refreshedAt.getTime() < this.maxAgeMs) return cached;
    const buckets = await this.catalog.bucketsOfSku(sku);
    const heads = await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
    const total = heads.reduce<Balances>((sum, h) => (h ? addBalances(sum, h.balances) : sum), { ...zeroBalances });
    const summary: StockSummary = {
      sku,
      available: total.available,
      incoming: total.incoming,
      held: total.held,
      sold: total.sold,
      nonSellable: { returned: total.returned, repair: total.repair, damaged: total.damaged },
      received: total.received,
      inTransit: total.transferredOut - total.transferredIn,
      refreshedAt: this.clock(),
    };
    this.summaries.set(sku, summary);
    return summary;
  }

  /** The SKU's stock just moved: its next summary is read fresh. */
  forget(sku: string) {
    this.summaries.delete(sku);
  }

  /**
   * Each bucket's available units as this process last saw them (no I/O; undefined for a bucket it has not
   * seen). Cheap enough to run after every reservation, to decide whether a fresh look is worth it.
   */
  cachedAvailability(product: Pick<ProductDoc, 'sku' | 'buckets'>): (number | undefined)[] {
    return this.catalog.bucketsOf(product).map((b) => this.ledger.cachedHead(b)?.balances.available);
  }
}
