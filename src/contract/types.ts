import type { Buyer } from '../stock/allowances';
import type { Hold } from '../stock/types';

/**
 * `waitlisted`: the shopper asked to be offered a sold-out strict SKU when it returns (not a purchase commitment);
 * an offer makes the line `pending` with `offeredAt` set.
 */
export type LineStatus = 'pending' | 'purchased' | 'expired' | 'removed' | 'backordered' | 'waitlisted';

/** One cart line, like the user's join table row; written only by the hold workflow that owns it. */
export interface CartLine {
  readonly holdId: string;
  readonly cartId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly status: LineStatus;
  /** When the hold lapses (pending lines only). */
  readonly expiresAt?: string;
  /** The ledger holds that back this line (a quantity increase adds a part). */
  readonly holds: readonly Hold[];
  /** The order a checkout locked or purchased this line for. */
  readonly orderId?: string;
  /**
   * When the line joined its SKU's waitlist (waitlist lines only): stamped by the line when it asks to join,
   * then replaced by the queue's own stamp of its arrival (joinedQueueSignal), the order the queue offers in.
   */
  readonly joinedAt?: string;
  /**
   * When the waitlist offered the line its units: from then it is held until `expiresAt` (the product's
   * offerSeconds later), claimed by checking out in that window, or it expires and the units go to the next.
   */
  readonly offeredAt?: string;
  /**
   * The product's per-customer limit that refused the line: on the line a run refused at its first reservation
   * returns (never saved; the first answer is rebuilt from it), and saved on a waitlisted line the queue passed
   * over because its buyer had reached the limit by the time units came (the line ended `removed`).
   */
  readonly refusedByLimit?: number;
  /**
   * Bumped by every save: a write carrying an older rev never replaces a newer one (a timed-out write that lands
   * late cannot undo a later state).
   */
  readonly rev: number;
  readonly updatedAt: string;
}

export interface HoldWorkflowInput {
  readonly holdId: string;
  readonly cartId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly customerId?: string;
  readonly ttlSeconds: number;
  /** A hold can be extended, but never past this long after it was first made. */
  readonly maxHoldSeconds: number;
  /** The workflow code path the run follows, set by holdStartOperation: see holdRevision. */
  readonly revision?: HoldRevision;
  /**
   * "Notify me" (revision 5 on): when the SKU is sold out and has a waitlist (offerSeconds), the line joins the
   * waitlist instead of being refused; with stock there, it is held like any line.
   */
  readonly waitlist?: boolean;
}

/**
 * The hold workflow's revisions still running somewhere. A change that would not replay a recorded run's history
 * bumps it, and the workflow branches on the revision its input carries (test/fixtures/histories/r<revision>):
 * - 3: the first reservation is followed by an `afterStockTaken` activity of its own;
 * - 4: the first reservation's local activity does that work itself (`followUp`): a held line's first answer
 *   costs Temporal no activity task, as an empty workflow's would not;
 * - 5: a fill's save is `saveFilledLine` (the row and its `backorder.filled` or `waitlist.offered` event in one
 *   step), and a line may join a strict SKU's waitlist (`waitlist`).
 */
export type HoldRevision = 3 | 4 | 5;

/** The revision new runs follow (set by holdStartOperation). */
export const holdRevision: HoldRevision = 5;

export type AddToCartResult =
  | { readonly status: 'held'; readonly holdId: string; readonly quantity: number; readonly expiresAt: string }
  | { readonly status: 'backordered'; readonly holdId: string; readonly quantity: number }
  /** On the SKU's waitlist: offered a timed hold, in join order, when units come back. */
  | { readonly status: 'waitlisted'; readonly holdId: string; readonly quantity: number }
  | { readonly status: 'out_of_stock'; readonly holdId: string; readonly available: number }
  /** The buyer already holds or has bought as many units of the SKU as its maxPerCustomer (`limit`) allows. */
  | { readonly status: 'limit_reached'; readonly holdId: string; readonly limit: number };

export interface HoldState {
  readonly line: CartLine;
  readonly lockedBy?: string;
}

/** What a checkout's lock of one line found. */
export type LockResult =
  /** The line's holds are the checkout's until it signals purchased or abandoned (or its lease lapses). */
  | { readonly status: 'locked'; readonly holds: readonly Hold[]; readonly line: CartLine }
  /** Another checkout has it: never reserve again for a line someone else is buying. */
  | { readonly status: 'locked_by_other'; readonly orderId: string; readonly line: CartLine }
  /** Bought already (by `line.orderId`). */
  | { readonly status: 'purchased'; readonly line: CartLine }
  /** Holds nothing: expired (the checkout may reserve again), removed, or backordered. */
  | { readonly status: 'ended'; readonly line: CartLine };

/** Whether a checkout that locked a line still stands, as the line sees it when its lock's lease lapses. */
export type CheckoutStanding = 'running' | 'completed' | 'ended';

export interface CheckoutInput {
  readonly orderId: string;
  readonly cartId: string;
  readonly paymentToken: string;
  readonly customerId?: string;
}

export type OrderStatus = 'pending' | 'completed' | 'failed';

export interface OrderLine {
  readonly holdId: string;
  readonly sku: string;
  /** The units of `holds`: what is charged is what is sold. */
  readonly quantity: number;
  readonly unitPriceCents: number;
  /** The ledger holds this line buys: locked from the cart line, or reserved again by the order. */
  readonly holds: readonly Hold[];
}

export interface Order {
  readonly orderId: string;
  readonly cartId: string;
  readonly status: OrderStatus;
  readonly reason?: string;
  readonly lines: readonly OrderLine[];
  readonly totalCents: number;
  readonly chargeId?: string;
  /** Bumped by every save, like CartLine.rev. */
  readonly rev: number;
  readonly updatedAt: string;
}

export interface BackorderEntry {
  readonly holdId: string;
  readonly quantity: number;
  readonly arrivedAt: string;
  /**
   * A waitlist entry (a strict SKU's): the queue stamps `arrivedAt` itself when the entry arrives (strictly
   * increasing, so no two tie) and serves in that order; the line saves the stamp as its joinedAt.
   */
  readonly waitlist?: boolean;
  /**
   * Whom the product's per-customer limit counts the line for (waitlist entries): the queue's fill reserves
   * under it, so offered units are counted like any held ones. Backorder SKUs take no limit.
   */
  readonly buyer?: Buyer;
}

export interface BackorderQueueState {
  readonly sku: string;
  readonly waiting: readonly BackorderEntry[];
  readonly filled: number;
  /** Whether a pass (receive, keep, fill, release) is under way: a quiet queue has nothing left to do. */
  readonly busy: boolean;
}

export type ReorderStatus = 'awaiting_approval' | 'approved' | 'rejected' | 'received';

export interface ReorderState {
  readonly sku: string;
  readonly status: ReorderStatus;
  readonly quantity: number;
  readonly availableAtRequest: number;
  readonly decidedBy?: string;
  readonly purchaseOrderId?: string;
}
