import type { ShardSet } from '../db';
import type { MovableState, ReceivingState } from './balances';
import { randomUUID } from 'node:crypto';
import { Allowances, type Buyer } from './allowances';
import { Catalog } from './catalog';
import { GroupCommit } from './group-commit';
import { Holds } from './holds';
import { BucketLedger } from './ledger';
import { Ownership, type OwnershipOptions } from './ownership';
import { StateMoves } from './state-moves';
import { Summaries } from './summaries';
import { TakeProtocol } from './take';
import { Transfers } from './transfers';
import type {
  BucketRef,
  Hold,
  OpOutcome,
  ProductDoc,
  ProductInput,
  SettleKind,
  SettleResult,
  StockSummary,
  TakeClaimDoc,
  TakeOutcome,
} from './types';

export interface StockServiceOptions {
  readonly clock?: () => Date;
  /** How stale a display summary may be before it is recomputed from the bucket heads. */
  readonly summaryMaxAgeMs?: number;
  /** This process's name as a writer (batch ids and bucket leases carry it); unique per process by default. */
  readonly writerId?: string;
  /** Owned tallies (`ownership.ts`): lease a share of each hot SKU's buckets; on by default. */
  readonly ownership?: false | Omit<OwnershipOptions, 'onTakeover'>;
}

/**
 * The stock ledger's operations, one entry point over the parts that keep them: the catalog (`catalog.ts`),
 * holds (`holds.ts`) taken by the exactly-once take protocol (`take.ts`), state moves (`state-moves.ts`),
 * transfers between buckets (`transfers.ts`) and display summaries (`summaries.ts`), all over one
 * `BucketLedger` with one cache of heads. Every operation is idempotent by its operation id: the same id twice,
 * even concurrently from two processes, has one effect. See docs/architecture.md, "Stock ledger".
 */
export class StockService {
  readonly ledger: BucketLedger;
  /** Per-customer limits: the buyers' allowance ledgers. */
  readonly allowances: Allowances;
  private readonly catalog: Catalog;
  private readonly summaries: Summaries;
  private readonly transfers: Transfers;
  private readonly holds: Holds;
  private readonly moves: StateMoves;
  private readonly taking: TakeProtocol;
  /** This writer's bucket leases; undefined when ownership is off. */
  readonly ownership: Ownership | undefined;
  private readonly writerId: string;
  private refills = 0;

  constructor(shards: ShardSet, options: StockServiceOptions = {}) {
    const clock = options.clock ?? (() => new Date());
    const writerId = (this.writerId = options.writerId ?? randomUUID());
    this.ledger = new BucketLedger(shards, clock);
    this.catalog = new Catalog(shards, this.ledger, clock);
    this.summaries = new Summaries(this.catalog, this.ledger, clock, options.summaryMaxAgeMs ?? 1000);
    this.transfers = new Transfers(this.catalog, this.ledger, this.summaries);
    this.ownership =
      options.ownership === false
        ? undefined
        : new Ownership(shards, writerId, clock, {
            ...options.ownership,
            // A lapsed owner may have died between a transfer's two entries: complete them.
            onTakeover: (sku) => this.transfers.repairTransfers(sku),
            onRound: (sku, owned) => this.refillOwned(sku, owned),
          });
    // The take protocol writes the claims of a batch; the group commit asks it to, through this function.
    const writeClaims = (claims: readonly TakeClaimDoc[]) => this.taking.writeClaims(claims);
    this.taking = new TakeProtocol(
      shards,
      this.ledger,
      this.catalog,
      this.transfers,
      this.summaries,
      new GroupCommit(this.ledger, writerId, writeClaims),
      this.ownership,
      clock,
    );
    this.allowances = new Allowances(shards, clock);
    this.holds = new Holds(this.catalog, this.ledger, this.taking, this.summaries, this.allowances, shards.size);
    this.moves = new StateMoves(this.catalog, this.ledger, this.taking, this.summaries);
  }

  // ---- catalog ----------------------------------------------------------------------------------------------

  /** Creates a product and its buckets with `initialQuantity` received; idempotent by SKU. */
  createProduct(input: ProductInput, initialQuantity: number): Promise<ProductDoc> {
    return this.catalog.createProduct(input, initialQuantity);
  }

  product(sku: string): Promise<ProductDoc> {
    return this.catalog.product(sku);
  }

  listProducts(): Promise<ProductDoc[]> {
    return this.catalog.listProducts();
  }

  bucketsOf(product: Pick<ProductDoc, 'sku' | 'buckets'>): BucketRef[] {
    return this.catalog.bucketsOf(product);
  }

  // ---- holds ------------------------------------------------------------------------------------------------

  /**
   * Reserves qty units for `holdId` in one bucket: `taken`, `insufficient`, or `settled` on a late re-run; for a
   * limited product and a buyer, `limit_reached` when the buyer's allowance has less than qty left.
   */
  reserve(
    holdId: string,
    sku: string,
    qty: number,
    from: ReceivingState = 'available',
    buyer?: Buyer,
  ): Promise<TakeOutcome> {
    return this.holds.reserve(holdId, sku, qty, from, buyer);
  }

  /**
   * Refuses a reservation of qty under holdId at once when every bucket together has less (read from fresh
   * heads, never from the summary): records the refusal as the hold's first attempt, so that any later
   * reservation under holdId is refused the same, and returns the units the SKU has. Undefined when a
   * reservation must decide (nothing is written then).
   */
  refuseAtOnce(holdId: string, sku: string, qty: number): Promise<number | undefined> {
    return this.taking.refuseAtOnce(holdId, sku, { kind: 'reserve', qty });
  }

  /** Ends a hold once, by release or commit; a racing settle of the same hold learns which won. */
  settle(hold: Hold, kind: SettleKind, to: ReceivingState = 'available'): Promise<SettleResult> {
    return this.holds.settle(hold, kind, to);
  }

  /** Shrinks a hold to `keep` units, releasing the rest; once per step however often it is retried. */
  trim(hold: Hold, keep: number, to: ReceivingState = 'available'): Promise<Hold> {
    return this.holds.trim(hold, keep, to);
  }

  /** The recorded outcome of a taking operation (a reserve or a state move). */
  outcome(opId: string): Promise<OpOutcome | null> {
    return this.taking.outcome(opId);
  }

  // ---- stock movements --------------------------------------------------------------------------------------

  /** Receives qty new units (split over the buckets, or all into bucket 0 as incoming). Idempotent by opId. */
  restock(opId: string, sku: string, qty: number, to: ReceivingState = 'available'): Promise<number> {
    return this.moves.restock(opId, sku, qty, to);
  }

  /** Moves qty units between states in one bucket that has them; InsufficientStockError when none has. */
  moveState(opId: string, sku: string, qty: number, from: MovableState, to: MovableState): Promise<Hold> {
    return this.moves.moveState(opId, sku, qty, from, to);
  }

  /** Puts every incoming unit up for general sale. Idempotent by opId. */
  releaseIncoming(opId: string, sku: string): Promise<number> {
    return this.moves.releaseIncoming(opId, sku);
  }

  /** Keeps every available unit for waiting backorders. Idempotent by opId. */
  holdForBackorders(opId: string, sku: string): Promise<number> {
    return this.moves.holdForBackorders(opId, sku);
  }

  /** Moves up to qty available units between two buckets; run again, completes a half-done transfer. */
  transfer(opId: string, sku: string, from: number, to: number, qty: number): Promise<number> {
    return this.transfers.transfer(opId, sku, from, to, qty);
  }

  /** Evens out a SKU's available stock over its buckets when one has run low. Idempotent by opId. */
  rebalance(opId: string, sku: string): Promise<number> {
    return this.transfers.rebalance(opId, sku);
  }

  /** Whether some bucket has run low while others hold stock (from the heads, fresh). */
  needsRebalance(sku: string): Promise<boolean> {
    return this.transfers.needsRebalance(sku);
  }

  /** Completes every transfer_out still without its transfer_in. Returns the units this call completed. */
  repairTransfers(sku: string): Promise<number> {
    return this.transfers.repairTransfers(sku);
  }

  /**
   * Refills this writer's own buckets of the SKU from others' when they have run low (what every ownership
   * round does in the background). Returns the units moved.
   */
  async refill(sku: string): Promise<number> {
    if (!this.ownership) return 0;
    const product = await this.catalog.product(sku);
    return this.refillOwned(sku, this.ownership.owned(product, this.catalog.bucketsOf(product)));
  }

  private refillOwned(sku: string, owned: ReadonlySet<number>): Promise<number> {
    return this.transfers.refill(`refill:${this.writerId}:${++this.refills}`, sku, owned);
  }

  /** Stops renewing this writer's bucket leases (given up at once with `release`): before a process ends. */
  async close(release = true): Promise<void> {
    await this.ownership?.close(release);
  }

  // ---- reading ----------------------------------------------------------------------------------------------

  /** Display totals for a SKU, at most the summary max age old; never used to decide. */
  summary(sku: string): Promise<StockSummary> {
    return this.summaries.summary(sku);
  }

  /** Totals for a SKU read from its heads now (not the cached summary): for reports of a change, not to decide. */
  freshSummary(sku: string): Promise<StockSummary> {
    this.summaries.forget(sku);
    return this.summaries.summary(sku);
  }

  /**
   * Units a shopper could take now, read from the heads now: available, and any between a transfer's two entries
   * (they land available). For the sold-out episodes' reports, not to decide a take.
   */
  async sellable(sku: string): Promise<number> {
    const s = await this.freshSummary(sku);
    return s.available + s.inTransit;
  }

  /** Each bucket's available units as this process last saw them (no I/O): a hint, never a decision. */
  cachedAvailability(product: Pick<ProductDoc, 'sku' | 'buckets'>): (number | undefined)[] {
    return this.summaries.cachedAvailability(product);
  }
}
