import { OrderStore } from '../../carts';
import { orderStateQuery } from '../../contract/messages';
import { workflowIds } from '../../contract/workflow-ids';
import { errorResponses, Order as OrderView, OrderParams, ref } from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';
import { HttpError } from '../errors';

/** Orders, as their checkout saga leaves them (the cart's token reads its own). */
export async function orderRoutes(app: HttpApp, ctx: RouteContext) {
  const { temporal, shards } = ctx;
  const orders = new OrderStore(shards);
  const security = [{ bearer: [] }];

  app.get(
    '/orders/:orderId',
    {
      schema: {
        operationId: 'getOrder',
        tags: ['orders'],
        summary: 'An order and its status',
        security,
        params: OrderParams,
        response: {
          200: ref(OrderView, 'The order: pending while its saga runs, then completed or failed (with a reason)'),
          ...errorResponses(400, 401, 403, 404, 429, 500),
        },
      },
    },
    async (request) => {
      const cartId = ctx.cartOf(request);
      const { orderId } = request.params;
      const stored = await orders.get(orderId);
      // Just started: the workflow has not written the order yet, but can say so.
      const order =
        stored ??
        (await temporal.workflow
          .getHandle(workflowIds.checkout(cartId))
          .query(orderStateQuery)
          .then((o) => (o.orderId === orderId ? o : undefined))
          .catch(() => undefined));
      if (!order) throw new HttpError('unknown_order', `no order ${orderId}`);
      if (order.cartId !== cartId) throw new HttpError('forbidden', 'this token is for another cart');
      return order;
    },
  );
}
