import {
  ApplicationFailure,
  getExternalWorkflowHandle,
  log,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Hold } from '../stock/types';
import { data, payments } from './activity-options';
import { checkoutAbandonedSignal, orderStateQuery, purchasedSignal } from '../contract/messages';
import { CartId, CustomerId, OrderId } from '../contract/search-attributes';
import type { CheckoutInput, Order, OrderLine } from '../contract/types';
import { failureTypes } from '../contract/failures';
import { workflowIds } from '../contract/workflow-ids';

/** Why a checkout failed, as the order's `reason` and the failure's type. */
export type CheckoutFailure =
  'cart_empty' | 'out_of_stock' | 'limit_reached' | 'checkout_in_progress' | 'card_declined' | 'payment_failed';

/**
 * One order of a cart (workflow id `checkout-<cartId>`: one checkout of a cart runs at a time), a saga:
 *   1. lock the cart's held lines, in hold id order (their holds cannot expire while paying); a line that
 *      expired meanwhile is reserved again, or the checkout fails `out_of_stock`; a line another checkout
 *      holds fails it `checkout_in_progress`; a line bought or removed meanwhile is not part of the order;
 *   2. charge what the locked holds are worth (idempotent by order id);
 *   3. record the order as completed;
 *   4. commit the holds to sold and mark the lines purchased (infrastructure only: retried, never undone).
 * A failure in steps 1-3 undoes the steps before it in reverse: mark the order failed, cancel or refund the
 * payment (a charge attempt still in flight can no longer land), hand the lines back to the cart (or release
 * the stock reserved again).
 */
export async function checkoutWorkflow(input: CheckoutInput): Promise<Order> {
  let order: Order = {
    orderId: input.orderId,
    cartId: input.cartId,
    status: 'pending',
    lines: [],
    totalCents: 0,
    rev: 0,
    updatedAt: new Date().toISOString(),
  };
  setHandler(orderStateQuery, () => order);
  upsertSearchAttributes([
    { key: OrderId, value: input.orderId },
    { key: CartId, value: input.cartId },
    ...(input.customerId ? [{ key: CustomerId, value: input.customerId }] : []),
  ] as SearchAttributeUpdatePair[]);

  async function saveOrder(changes: Partial<Order>) {
    order = { ...order, ...changes, rev: order.rev + 1, updatedAt: new Date().toISOString() };
    await data.saveOrder(order);
  }

  // An order id runs its saga once: a run started again for it (a retry after Temporal forgot the first run)
  // answers with the order as it ended; one that finds it pending resumes it (every step is idempotent).
  const existing = await data.openOrder(order);
  if (existing.status !== 'pending') return existing;
  order = { ...order, rev: Math.max(order.rev, existing.rev) };

  const compensations: { step: string; undo: () => Promise<unknown> }[] = [];
  const holds: Hold[] = [];
  const lockedLines: string[] = [];
  try {
    // 1. lock
    const lines = (await data.listCartLines(input.cartId)).filter((l) => l.status === 'pending');
    const orderLines: OrderLine[] = [];
    for (const line of lines) {
      const lock = await data.lockCartLine({ cartId: input.cartId, holdId: line.holdId, orderId: input.orderId });
      let lineHolds: readonly Hold[];
      if (lock.status === 'locked') {
        lineHolds = lock.holds;
        lockedLines.push(line.holdId);
        compensations.push({
          step: 'lock',
          undo: () =>
            getExternalWorkflowHandle(workflowIds.hold(line.holdId)).signal(checkoutAbandonedSignal, {
              orderId: input.orderId,
            }),
        });
      } else if (lock.status === 'locked_by_other') {
        throw failure('checkout_in_progress', `order ${lock.orderId} is checking out this cart`);
      } else if (lock.status === 'ended' && lock.line.status === 'expired') {
        const again = await data.reserveStock({
          holdId: `${input.orderId}:${line.holdId}`,
          sku: line.sku,
          quantity: lock.line.quantity,
          buyer: { cartId: input.cartId, customerId: input.customerId },
        });
        if (again.status === 'limit_reached') {
          throw failure(
            'limit_reached',
            `the hold on ${line.sku} expired and ${again.limit} per customer are held or bought`,
          );
        }
        if (again.status !== 'taken') {
          throw failure('out_of_stock', `the hold on ${line.sku} expired and the stock is gone`);
        }
        lineHolds = [again.hold];
        compensations.push({ step: 'reserve', undo: () => data.settleHolds({ holds: [again.hold], kind: 'release' }) });
      } else {
        continue; // bought by an earlier order, removed, or backordered since the cart was read
      }
      holds.push(...lineHolds);
      const product = await data.productInfo(line.sku);
      orderLines.push({
        holdId: line.holdId,
        sku: line.sku,
        // The units locked, not the units the listing showed: what is charged is what is sold.
        quantity: lineHolds.reduce((sum, h) => sum + h.qty, 0),
        unitPriceCents: product.priceCents,
        holds: lineHolds,
      });
    }
    if (orderLines.length === 0) throw failure('cart_empty', 'the cart has no held lines');
    const totalCents = orderLines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
    await saveOrder({ lines: orderLines, totalCents });

    // 2. charge
    compensations.push({ step: 'charge', undo: () => data.refundPayment({ orderId: input.orderId }) });
    let chargeId: string;
    try {
      ({ chargeId } = await payments.chargePayment({
        orderId: input.orderId,
        amountCents: totalCents,
        token: input.paymentToken,
      }));
    } catch (err) {
      const declined =
        err instanceof Error && err.cause instanceof ApplicationFailure && err.cause.type === failureTypes.cardDeclined;
      throw failure(
        declined ? 'card_declined' : 'payment_failed',
        declined ? 'the card was declined' : 'the payment did not go through',
      );
    }

    // 3. record
    compensations.push({ step: 'record', undo: () => saveOrder({ status: 'failed' }) });
    await saveOrder({ status: 'completed', chargeId });
  } catch (err) {
    for (const { step, undo } of compensations.reverse()) {
      try {
        await undo();
      } catch (undoErr) {
        log.error('compensation failed', { step, orderId: input.orderId, err: undoErr });
      }
    }
    const reason = err instanceof ApplicationFailure ? err.message : 'checkout failed';
    await saveOrder({ status: 'failed', reason });
    throw err instanceof ApplicationFailure
      ? err
      : ApplicationFailure.nonRetryable(reason, failureTypes.checkoutFailed);
  }

  // 4. commit (cannot lose: the holds are this checkout's, locked or reserved again by it)
  const settled = await data.settleHolds({ holds, kind: 'commit' });
  const lost = settled.filter((s) => s.settled !== 'committed');
  if (lost.length > 0) log.error('a locked hold was not committed', { orderId: input.orderId, lost });
  for (const holdId of lockedLines) {
    try {
      await getExternalWorkflowHandle(workflowIds.hold(holdId)).signal(purchasedSignal, { orderId: input.orderId });
    } catch (err) {
      // The order stands (its stock is sold); a line that is gone cannot be marked, and that must not fail it.
      log.error('could not mark a line purchased', { orderId: input.orderId, holdId, err });
    }
  }
  return order;
}

function failure(type: CheckoutFailure, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
