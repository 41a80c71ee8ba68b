import type { Balances, Movement, MovementKind } from './balances';

export type StockPolicy = 'strict' | 'backorder';

export interface ProductInput {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly policy: StockPolicy;
  /** Escrow buckets the stock is split into (spread over shards). */
  readonly buckets: number;
  readonly lowStockThreshold: number;
  readonly reorderQuantity: number;
}

export interface ProductDoc extends ProductInput {
  readonly _id: string;
  /** Units received at creation, split evenly over the buckets. */
  readonly initialQuantity: number;
  readonly createdAt: Date;
}

/** Where one escrow bucket lives. */
export interface BucketRef {
  readonly sku: string;
  readonly index: number;
  readonly id: string;
  readonly shard: number;
}

/** One movement of a bucket's append-only ledger: the source of truth and the audit trail. */
export interface LedgerEntry {
  /** `<bucketId>#<seq, zero-padded>`: the compare-and-append key. */
  readonly _id: string;
  readonly bucketId: string;
  readonly sku: string;
  readonly seq: number;
  readonly opId: string;
  /** `<bucketId>|<opId>`, unique: one movement per operation per bucket. */
  readonly opKey: string;
  readonly kind: MovementKind;
  readonly qty: number;
  readonly movement: Movement;
  /**
   * The hold a settle or trim entry ends or shrinks, the bucket index a transfer came from / went to, or the
   * constant marking a bulk state change (not a taking operation).
   */
  readonly ref?: string;
  /** Balances after this movement. */
  readonly balances: Balances;
  readonly at: Date;
}

/** Stock held for one operation: always in a single bucket, settled (released or committed) once. */
export interface Hold {
  readonly holdId: string;
  readonly sku: string;
  readonly bucket: number;
  readonly qty: number;
}

export type TakeOutcome =
  | { readonly status: 'taken'; readonly hold: Hold }
  | { readonly status: 'insufficient'; readonly available: number }
  /** The operation took this hold earlier, and the hold has since been released or committed: it is not open. */
  | { readonly status: 'settled'; readonly hold: Hold; readonly settled: 'released' | 'committed' };

/** Per-SKU totals for display: may lag by its max age, never used to decide a reservation. */
export interface StockSummary {
  readonly sku: string;
  readonly available: number;
  /** Received for waiting backorders; not for sale to new shoppers. */
  readonly incoming: number;
  readonly held: number;
  readonly sold: number;
  readonly nonSellable: { readonly returned: number; readonly repair: number; readonly damaged: number };
  readonly received: number;
  readonly inTransit: number;
  readonly refreshedAt: Date;
}

/** The once-written record of a taking operation's result (collection `ops`, `_id` = the operation id). */
export interface OpOutcomeDoc {
  readonly _id: string;
  readonly sku: string;
  readonly qty: number;
  readonly kind: 'reserve' | 'state_change';
  readonly result: 'taken' | 'insufficient';
  readonly bucket?: number;
  readonly available?: number;
  readonly at: Date;
}

export type SettleKind = 'release' | 'commit';

export interface SettleResult {
  /** How the hold ended: by this call, or by an earlier settle of the same hold. */
  readonly settled: 'released' | 'committed';
  readonly byThisCall: boolean;
}
