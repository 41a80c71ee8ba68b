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
  /**
   * A drop's waiting room: shoppers let through to the stock a second, in arrival order (see src/admission).
   * Absent: no waiting room, every add-to-cart goes straight to the stock.
   */
  readonly admitPerSecond?: number;
  /**
   * The most units of this SKU one buyer (a customer over all their carts, or an anonymous cart) may hold and
   * have bought at once; no limit when absent. Strict products only.
   */
  readonly maxPerCustomer?: number;
  /**
   * A waitlist (strict products only): a shopper may join it while the SKU is sold out, and units that come
   * back are offered to the waiting in join order, each offer held for this many seconds. Absent: no waitlist.
   */
  readonly offerSeconds?: number;
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
  /** The FerretDB shard (index into the ShardSet) its entries are on. */
  readonly shard: number;
  /** Its placement slot behind mongos: the first field of the ledger's shard key (src/db/shard-keys.json). */
  readonly slot: number;
}

/** One movement of a bucket's append-only ledger: the source of truth and the audit trail. */
export interface LedgerEntry {
  /** `<bucketId>#<seq, zero-padded>`: the compare-and-append key. */
  readonly _id: string;
  /** The bucket's placement slot (BucketRef.slot): with bucketId, the shard key. */
  readonly slot: number;
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
  /**
   * A group commit's entry (`opId` is the batch's id): the operations it takes stock for, each its own hold.
   * An empty list is a void: the batch was given up and nobody took stock in it.
   */
  readonly members?: readonly BatchMember[];
  /** Balances after this movement. */
  readonly balances: Balances;
  readonly at: Date;
}

/** One operation's share of a group commit's entry. */
export interface BatchMember {
  readonly opId: string;
  readonly qty: number;
}

/** Stock held for one operation: always in a single bucket, settled (released or committed) once. */
export interface Hold {
  readonly holdId: string;
  readonly sku: string;
  readonly bucket: number;
  readonly qty: number;
  /** The seq of the entry that took it (its batch), so settling it finds that entry by one read. */
  readonly seq?: number;
  /**
   * The buyer's allowance bucket (a product with maxPerCustomer) that counts this hold's units: every settle
   * and trim of the hold is mirrored there (`allowances.ts`).
   */
  readonly allowance?: string;
}

export type TakeOutcome =
  | { readonly status: 'taken'; readonly hold: Hold }
  | { readonly status: 'insufficient'; readonly available: number }
  /** The buyer's allowance had fewer than qty units left (`left`) of the product's `limit`: nothing was taken. */
  | { readonly status: 'limit_reached'; readonly limit: number; readonly left: number }
  /** The operation took this hold earlier, and the hold has since been released or committed: it is not open. */
  | { readonly status: 'settled'; readonly hold: Hold; readonly settled: 'released' | 'committed' };

/** What the take protocol answers: the stock alone (a limit is the allowances' answer, before it). */
export type StockTakeOutcome = Exclude<TakeOutcome, { readonly status: 'limit_reached' }>;

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

/**
 * One attempt of a taking operation (collection `ops`, on the operation's shard), written once: either a
 * claim of a place in one bucket's batch, or the operation's refusal. Attempt 0's `_id` is the operation id,
 * attempt k's `attempt<k>:<opId>`. An attempt's claim stands when its batch's entry lists the operation; the
 * batch's entry written without it, or voided, means the attempt was given up and the next one follows.
 */
export interface TakeClaimDoc {
  readonly _id: string;
  readonly opId: string;
  readonly attempt: number;
  readonly sku: string;
  readonly qty: number;
  readonly kind: 'reserve' | 'state_change';
  /** The bucket and batch of a claim, and a seq of that bucket the batch's entry comes after. */
  readonly bucket?: number;
  readonly batch?: string;
  readonly afterSeq?: number;
  /** A refusal: no bucket had the quantity, even gathered (`available` units were there). */
  readonly result?: 'insufficient';
  readonly available?: number;
  readonly at: Date;
}

/** A taking operation's result as its attempts and the ledger decided it. */
export interface OpOutcome {
  readonly opId: string;
  readonly sku: string;
  readonly qty: number;
  readonly kind: 'reserve' | 'state_change';
  readonly result: 'taken' | 'insufficient';
  readonly bucket?: number;
  /** The seq of the entry that took the stock. */
  readonly seq?: number;
  readonly available?: number;
}

export type SettleKind = 'release' | 'commit';

export interface SettleResult {
  /** How the hold ended: by this call, or by an earlier settle of the same hold. */
  readonly settled: 'released' | 'committed';
  readonly byThisCall: boolean;
}
