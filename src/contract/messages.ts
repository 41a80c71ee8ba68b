/**
 * Every signal, query and update of holdfast's workflows: the workflows, the API and the tests import these.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Hold } from '../stock/types';
import type { DomainEvent } from './events';
import type {
  AddToCartResult,
  BackorderEntry,
  BackorderQueueState,
  HoldState,
  LockResult,
  Order,
  ReorderState,
} from './types';

// ---- hold (one cart line) ----
/** Sent with the workflow's start (update-with-start): resolves once the first reservation is decided. */
export const addToCartUpdate = defineUpdate<AddToCartResult>('addToCart');
export const changeQuantityUpdate = defineUpdate<AddToCartResult, [{ quantity: number }]>('changeQuantity');
export const extendHoldUpdate = defineUpdate<AddToCartResult>('extendHold');
export const removeLineUpdate = defineUpdate<HoldState>('removeLine');
/** A checkout takes the line's holds; they cannot expire until it signals purchased or abandoned. */
export const lockForCheckoutUpdate = defineUpdate<LockResult, [{ orderId: string }]>('lockForCheckout');
export const purchasedSignal = defineSignal<[{ orderId: string }]>('purchased');
export const checkoutAbandonedSignal = defineSignal<[{ orderId: string }]>('checkoutAbandoned');
/**
 * The backorder queue filled this line: the hold is now the line's. A waitlist's fill carries the entry's
 * `arrivedAt` as the queue stamped it (see joinedQueueSignal).
 */
export const backorderFilledSignal = defineSignal<[{ hold: Hold; arrivedAt?: string }]>('backorderFilled');
/**
 * The waitlist's queue received this line's entry at `arrivedAt` (strictly increasing per queue): the queue
 * serves in that order, so the line saves it as its `joinedAt`, which rule 13 reads.
 */
export const joinedQueueSignal = defineSignal<[{ arrivedAt: string }]>('joinedQueue');
/**
 * The queue passed this waitlisted line over: its buyer holds or has bought the product's per-customer limit
 * (`limit`) by now, so its fill was refused; the line has left the waitlist and ends.
 */
export const fillRefusedByLimitSignal = defineSignal<[{ limit: number }]>('fillRefusedByLimit');
export const holdStateQuery = defineQuery<HoldState>('holdState');

// ---- backorder queue (one per SKU) ----
export const enqueueBackorderSignal = defineSignal<[BackorderEntry]>('enqueueBackorder');
export const cancelBackorderSignal = defineSignal<[{ holdId: string }]>('cancelBackorder');
/** Moves a waiting backorder to a position (0 = first). */
export const reprioritiseBackorderSignal =
  defineSignal<[{ holdId: string; position: number }]>('reprioritiseBackorder');
/** New units arrived: backorders are filled from them, in order, before anyone else may buy them. */
export const restockSignal = defineSignal<[{ opId: string; quantity: number }]>('restock');
/** Held units of the SKU went back `incoming` (an expiry, a removal, a shrink): they go to the waiting first. */
export const unitsReturnedSignal = defineSignal('unitsReturned');
export const backorderQueueQuery = defineQuery<BackorderQueueState>('backorderQueue');

// ---- reorder (one per SKU at a time) ----
export const approveReorderSignal = defineSignal<[{ by: string; quantity?: number }]>('approveReorder');
export const rejectReorderSignal = defineSignal<[{ by: string; reason?: string }]>('rejectReorder');
export const receiveReorderSignal = defineSignal<[{ quantity?: number }]>('receiveReorder');
export const reorderStateQuery = defineQuery<ReorderState>('reorderState');

// ---- checkout ----
export const orderStateQuery = defineQuery<Order>('orderState');

/**
 * An event for a webhook endpoint's delivery workflow (signal-with-start by the step that recorded it); with
 * `redeliver`, one ops asked to send again even though it was delivered or given up.
 */
export const webhookEventSignal = defineSignal<[{ event: DomainEvent; redeliver?: boolean }]>('webhookEvent');
