import type { Hold } from '../stock/types';

export type LineStatus = 'pending' | 'purchased' | 'expired' | 'removed' | 'backordered';

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
  /**
   * The workflow code path the run follows: absent for runs started before revision 2 (they replay with their
   * patches), set by holdStartOperation for new runs.
   */
  readonly revision?: typeof holdRevision;
}

/** The hold workflow's current revision: see HoldWorkflowInput.revision. */
export const holdRevision = 2;

export type AddToCartResult =
  | { readonly status: 'held'; readonly holdId: string; readonly quantity: number; readonly expiresAt: string }
  | { readonly status: 'backordered'; readonly holdId: string; readonly quantity: number }
  | { readonly status: 'out_of_stock'; readonly holdId: string; readonly available: number };

export interface HoldState {
  readonly line: CartLine;
  readonly lockedBy?: string;
}

export type LockResult =
  | { readonly status: 'locked'; readonly holds: readonly Hold[]; readonly line: CartLine }
  /** The line is not pending any more (expired, removed, purchased, backordered): the checkout must reserve again or fail. */
  | { readonly status: 'unavailable'; readonly line: CartLine };

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
  readonly quantity: number;
  readonly unitPriceCents: number;
}

export interface Order {
  readonly orderId: string;
  readonly cartId: string;
  readonly status: OrderStatus;
  readonly reason?: string;
  readonly lines: readonly OrderLine[];
  readonly totalCents: number;
  readonly chargeId?: string;
  readonly updatedAt: string;
}

export interface BackorderEntry {
  readonly holdId: string;
  readonly quantity: number;
  readonly arrivedAt: string;
}

export interface BackorderQueueState {
  readonly sku: string;
  readonly waiting: readonly BackorderEntry[];
  readonly filled: number;
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
