import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { OrderStore } from '../../carts';
import { CartId, CustomerId, OrderId } from '../../contract/search-attributes';
import type { CheckoutInput } from '../../contract/types';
import { workflowIds } from '../../contract/workflow-ids';
import {
  CartParams,
  CheckoutAccepted,
  CheckoutBody,
  described,
  errorResponses,
  IdempotencyHeaders,
  locationHeader,
  replayedHeader,
} from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';
import { HttpError } from '../errors';
import { keyDigest } from '../idempotency';

/** Checking a cart out: one checkout saga workflow per order, one running per cart. */
export async function checkoutRoutes(app: HttpApp, ctx: RouteContext) {
  const { temporal, settings, shards } = ctx;
  const orders = new OrderStore(shards);
  const security = [{ bearer: [] }];

  app.post(
    '/carts/:cartId/checkout',
    {
      schema: {
        operationId: 'checkoutCart',
        tags: ['carts'],
        summary: 'Check out the held lines (a checkout saga workflow)',
        description:
          '202 with the order to poll (Location: GET /v1/orders/{orderId}); 409 checkout_in_progress names the ' +
          'order already checking this cart out (orderId). The same Idempotency-Key joins its order.',
        security,
        headers: IdempotencyHeaders,
        params: CartParams,
        body: CheckoutBody,
        response: {
          202: described(CheckoutAccepted, 'The order is checking out: poll it until it is completed or failed', {
            ...locationHeader,
            ...replayedHeader,
          }),
          ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429, 500),
        },
      },
      onRequest: ctx.requireCart,
    },
    async (request, reply) => {
      const { cartId } = request.params;
      const key = request.headers['idempotency-key'];
      const result = await ctx.idempotency.run(`checkout:${cartId}`, key, request.body, async () => {
        const orderId = `o${keyDigest(`checkout:${cartId}`, key)}`;
        const { customerId } = ctx.claimOf(request);
        await startCheckout({
          orderId,
          cartId,
          paymentToken: request.body.paymentToken,
          ...(customerId !== undefined ? { customerId } : {}),
        });
        return { statusCode: 202 as const, body: { orderId } };
      });
      if (result.statusCode === 202) {
        reply.header('location', `${app.prefix}/orders/${result.body.orderId}`);
      }
      return reply.code(result.statusCode).header('idempotent-replayed', String(result.replayed)).send(result.body);
    },
  );

  /**
   * Starts the key's order as the cart's checkout: one checkout of a cart runs at a time (they share the
   * workflow id `checkout-<cartId>`), so a second one, from another tab or with another key, is refused with
   * the running order's id. A retry of the key joins its running order, or finds it stored once it has ended
   * (its run, started again, would only answer with the stored order).
   */
  async function startCheckout(input: CheckoutInput): Promise<void> {
    if (await orders.has(input.orderId)) return;
    const handle = temporal.workflow.getHandle(workflowIds.checkout(input.cartId));
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await temporal.workflow.start('checkoutWorkflow', {
          workflowId: workflowIds.checkout(input.cartId),
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          taskQueue: settings.taskQueue,
          args: [input],
          typedSearchAttributes: [
            { key: OrderId, value: input.orderId },
            { key: CartId, value: input.cartId },
            ...(input.customerId !== undefined ? [{ key: CustomerId, value: input.customerId }] : []),
          ],
        });
        return;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      const running = await handle.describe();
      if (running.status.name !== 'RUNNING') continue; // it ended meanwhile: start ours
      const runningOrder = running.typedSearchAttributes.get(OrderId);
      if (runningOrder === input.orderId) return;
      throw new HttpError('checkout_in_progress', `order ${runningOrder} is checking out this cart`, {
        ...(runningOrder ? { orderId: runningOrder } : {}),
      });
    }
    throw new HttpError('checkout_in_progress', 'another checkout of this cart keeps starting');
  }
}
