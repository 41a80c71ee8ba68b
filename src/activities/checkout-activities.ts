import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { CartLineStore, OrderStore } from '../carts';
import { failureTypes } from '../contract/failures';
import { lockForCheckoutUpdate } from '../contract/messages';
import { OrderId } from '../contract/search-attributes';
import type { CartLine, CheckoutStanding, LockResult, Order } from '../contract/types';
import { workflowIds } from '../contract/workflow-ids';
import type { ActivityDeps } from './deps';
import { publishEvent } from './event-activities';
import { CardDeclinedError, type Charge } from './payment-gateway';

/** A checkout's steps: its cart's lines and their locks, its order, and the payment. */
export function checkoutActivities(deps: ActivityDeps) {
  const { temporal } = deps;
  const cartLines = new CartLineStore(deps.shards);
  const orders = new OrderStore(deps.shards);

  return {
    /** The cart's lines in hold-id order, the order a checkout locks them in. */
    async listCartLines(cartId: string): Promise<CartLine[]> {
      const lines = await cartLines.list(cartId);
      return lines.sort((a, b) => a.holdId.localeCompare(b.holdId));
    },

    /** Asks a line's hold workflow to hand its holds to a checkout; a line whose run has ended holds nothing. */
    async lockCartLine(input: { cartId: string; holdId: string; orderId: string }): Promise<LockResult> {
      try {
        return await temporal.workflow.getHandle(workflowIds.hold(input.holdId)).executeUpdate(lockForCheckoutUpdate, {
          args: [{ orderId: input.orderId }],
          updateId: `lock-${input.orderId}`,
        });
      } catch (err) {
        // Not found is also Temporal's answer for an update to a run that has closed: the stored line says how.
        const finished = err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError;
        if (!finished) throw err;
        const line = await cartLines.get(input.cartId, input.holdId);
        if (!line) throw ApplicationFailure.nonRetryable(`no cart line ${input.holdId}`, failureTypes.unknownCartLine);
        return line.status === 'purchased' ? { status: 'purchased', line } : { status: 'ended', line };
      }
    },

    /**
     * Records a new order, or finds the one stored under its id: an order id's saga runs once, and a run that
     * finds its order final answers with it.
     */
    openOrder(order: Order): Promise<Order> {
      return orders.open(order);
    },

    /** Saves an order unless a newer state of it is stored (see CartLine.rev). */
    async saveOrder(order: Order): Promise<void> {
      const wrote = await orders.save(order);
      // Its final state's event, also when this is a retry that finds the state written (the event may not be).
      const final = order.status === 'completed' || (order.status === 'failed' && order.reason);
      if (final) {
        await publishEvent(deps, {
          type: order.status === 'completed' ? 'order.completed' : 'order.failed',
          key: order.orderId,
          aggregate: { kind: 'order', id: order.orderId },
          data: orderEventData(order),
        });
      }
      if (!wrote) return;
      if (order.status === 'completed') deps.metrics.checkouts.labels('completed').inc();
      if (order.status === 'failed' && order.reason) deps.metrics.checkouts.labels('failed').inc();
    },

    /**
     * Whether the checkout that locked a line still stands (asked when the lock's lease lapses): `completed`
     * when its order completed with this line, `running` while its run lives, else `ended` (failed, or its run
     * was terminated or lost): the line is then the cart's again.
     */
    async checkoutStanding(input: { cartId: string; orderId: string; holdId: string }): Promise<CheckoutStanding> {
      const order = await orders.get(input.orderId);
      if (order?.status === 'completed') {
        return order.lines.some((l) => l.holdId === input.holdId) ? 'completed' : 'ended';
      }
      if (order?.status === 'failed') return 'ended';
      try {
        const run = await temporal.workflow.getHandle(workflowIds.checkout(input.cartId)).describe();
        const runsIt = run.status.name === 'RUNNING' && run.typedSearchAttributes.get(OrderId) === input.orderId;
        return runsIt ? 'running' : 'ended';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'ended';
        throw err;
      }
    },

    async chargePayment(input: { orderId: string; amountCents: number; token: string }): Promise<Charge> {
      try {
        return await deps.payments.charge(
          { idempotencyKey: input.orderId, amountCents: input.amountCents, token: input.token },
          Context.current().cancellationSignal,
        );
      } catch (err) {
        if (err instanceof CardDeclinedError) throw ApplicationFailure.nonRetryable(err.message, err.name);
        throw err;
      }
    },

    /** Refunds the order's charge if there was one (the charge is keyed by order id). */
    async refundPayment(input: { orderId: string }): Promise<boolean> {
      const refunded = await deps.payments.refund(input.orderId);
      if (refunded) {
        await publishEvent(deps, {
          type: 'order.refunded',
          key: input.orderId,
          aggregate: { kind: 'order', id: input.orderId },
          data: { orderId: input.orderId },
        });
      }
      return refunded;
    },
  };
}

/** What an order's events tell: the order as a receiver needs it, without the holds behind its lines. */
function orderEventData(order: Order): Record<string, unknown> {
  return {
    orderId: order.orderId,
    cartId: order.cartId,
    status: order.status,
    totalCents: order.totalCents,
    lines: order.lines.map((l) => ({
      holdId: l.holdId,
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: l.unitPriceCents,
    })),
    ...(order.chargeId ? { chargeId: order.chargeId } : {}),
    ...(order.reason ? { reason: order.reason } : {}),
  };
}
