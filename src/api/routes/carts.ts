import { randomBytes } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { CartLineStore, collections } from '../../db';
import { addToCartUpdate, changeQuantityUpdate, orderStateQuery, removeLineUpdate } from '../../contract/messages';
import { holdStartOperation } from '../hold-start';
import type { holdWorkflow } from '../../workflows/hold';
import { firstAnswerOf } from '../../contract/line-answer';
import { CartId, OrderId } from '../../contract/search-attributes';
import type { AddToCartResult, CheckoutInput, HoldWorkflowInput, Order } from '../../contract/types';
import { workflowIds } from '../../contract/workflow-ids';
import type { RouteContext } from '../app';
import { HttpError, type ErrorBody } from '../errors';
import { keyDigest, type StoredResponse } from '../idempotency';
import {
  cartLineSchema,
  errorResponses,
  holdResponseSchema,
  idempotencyHeadersSchema,
  idSchema,
  locationHeader,
  replayedHeader,
  orderSchema,
  ref,
  skuSchema,
} from '../schemas';

interface CartParams {
  cartId: string;
}
interface LineParams extends CartParams {
  holdId: string;
}

const cartParams = { type: 'object', required: ['cartId'], properties: { cartId: idSchema } } as const;
const lineParams = {
  type: 'object',
  required: ['cartId', 'holdId'],
  properties: { cartId: idSchema, holdId: idSchema },
} as const;

/** The shopper's routes: carts, their lines (each a hold workflow), checkout and orders. */
export async function cartRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { temporal, settings, metrics, shards } = ctx;
  const security = [{ bearer: [] }];
  const quantity = { type: 'integer', minimum: 1, maximum: settings.maxLineQuantity } as const;
  const cartLines = new CartLineStore(shards);

  function holdReply(result: AddToCartResult, created: boolean, requestId: string): StoredResponse {
    metrics.holds.labels(result.status).inc();
    if (result.status === 'out_of_stock') {
      return {
        statusCode: 409,
        body: {
          error: 'out_of_stock',
          message: `only ${result.available} available`,
          holdId: result.holdId,
          available: result.available,
          requestId,
        } satisfies ErrorBody,
      };
    }
    return { statusCode: created ? 201 : 200, body: result };
  }

  /** A line id names its cart: another cart's line is simply not found. */
  function assertLineOfCart({ cartId, holdId }: LineParams) {
    if (!holdId.startsWith(`${cartId}.`)) throw new HttpError('unknown_line', `no line ${holdId} in this cart`);
  }

  async function lineUpdate<T>(holdId: string, run: () => Promise<T>): Promise<T> {
    const ended = () => new HttpError('line_not_pending', 'the line has ended (expired, removed or purchased)');
    try {
      return await run();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && !(err.cause && 'type' in err.cause)) throw ended();
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Temporal answers "not found" both for no such line and for an update to a run that has closed, or that
      // closes while the update waits (a line bought or expiring that moment): the run itself says which.
      const exists = await temporal.workflow
        .getHandle(workflowIds.hold(holdId))
        .describe()
        .then(
          () => true,
          (e: unknown) => (e instanceof WorkflowNotFoundError ? false : Promise.reject(e)),
        );
      throw exists ? ended() : new HttpError('unknown_line', `no line ${holdId}`);
    }
  }

  app.post(
    '/carts',
    {
      schema: {
        operationId: 'createCart',
        tags: ['carts'],
        summary: 'Create a cart and its bearer token',
        response: {
          201: {
            description: 'The cart, and the token its other routes need (Authorization: Bearer <token>)',
            type: 'object',
            required: ['cartId', 'token'],
            properties: { cartId: { type: 'string' }, token: { type: 'string' } },
            headers: locationHeader,
          },
          ...errorResponses(400, 413, 415, 429, 500),
        },
      },
    },
    async (_request, reply) => {
      const cartId = `c${randomBytes(12).toString('hex')}`;
      await shards
        .cartsDb(shards.shardFor(cartId))
        .collection(collections.carts.carts)
        .insertOne({ _id: cartId as never, createdAt: new Date() });
      return reply
        .code(201)
        .header('location', `${app.prefix}/carts/${cartId}`)
        .send({ cartId, token: ctx.tokens.issue(cartId) });
    },
  );

  app.post<{ Params: CartParams; Body: { sku: string; quantity: number } }>(
    '/carts/:cartId/items',
    {
      schema: {
        operationId: 'addCartItem',
        tags: ['carts'],
        summary: 'Add to cart: reserve stock and hold it (a hold workflow)',
        description:
          '201 held (until expiresAt) or backordered; 409 out_of_stock names the refused line (holdId) and how ' +
          'many units are available. The same Idempotency-Key and body replays the first answer ' +
          '(idempotent-replayed: true).',
        security,
        headers: idempotencyHeadersSchema,
        params: cartParams,
        body: {
          type: 'object',
          required: ['sku', 'quantity'],
          additionalProperties: false,
          properties: { sku: skuSchema, quantity },
        },
        response: {
          201: {
            ...ref(holdResponseSchema, 'The line: held, or backordered'),
            headers: { ...locationHeader, ...replayedHeader },
          },
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 500),
        },
      },
      onRequest: ctx.requireCart,
    },
    async (request, reply) => {
      const { cartId } = request.params;
      const key = request.headers['idempotency-key'] as string;
      const result = await ctx.idempotency.run(`items:${cartId}`, key, request.body, async () => {
        await ctx.stock.product(request.body.sku); // 404 for an unknown SKU, before any workflow starts
        const input: HoldWorkflowInput = {
          holdId: `${cartId}.${keyDigest(cartId, key)}`,
          cartId,
          sku: request.body.sku,
          quantity: request.body.quantity,
          ttlSeconds: settings.holdTtlSeconds,
          maxHoldSeconds: settings.maxHoldSeconds,
        };
        try {
          const added = await temporal.workflow.executeUpdateWithStart(addToCartUpdate, {
            startWorkflowOperation: holdStartOperation(input, settings.taskQueue),
          });
          return holdReply(added, true, request.id);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          // The key's line has ended (a refusal ends at once) and its answer was not recorded (a twin request
          // is about to, or a crash lost it): the ended run says what the first answer was.
          const line = await temporal.workflow.getHandle<typeof holdWorkflow>(workflowIds.hold(input.holdId)).result();
          return holdReply(firstAnswerOf(line), true, request.id);
        }
      });
      if (result.statusCode === 201) {
        reply.header('location', `${app.prefix}/carts/${cartId}/items/${(result.body as AddToCartResult).holdId}`);
      }
      return reply.code(result.statusCode).header('idempotent-replayed', String(result.replayed)).send(result.body);
    },
  );

  app.patch<{ Params: LineParams; Body: { quantity: number } }>(
    '/carts/:cartId/items/:holdId',
    {
      schema: {
        operationId: 'changeCartItem',
        tags: ['carts'],
        summary: "Change a line's quantity (reserves or releases the difference)",
        security,
        params: lineParams,
        body: { type: 'object', required: ['quantity'], additionalProperties: false, properties: { quantity } },
        response: {
          200: ref(holdResponseSchema, 'The line with its new quantity'),
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 500),
        },
      },
      onRequest: ctx.requireCart,
    },
    async (request, reply) => {
      assertLineOfCart(request.params);
      const { holdId } = request.params;
      const result = await lineUpdate(holdId, () =>
        temporal.workflow
          .getHandle(workflowIds.hold(holdId))
          .executeUpdate(changeQuantityUpdate, { args: [{ quantity: request.body.quantity }] }),
      );
      const stored = holdReply(result, false, request.id);
      return reply.code(stored.statusCode).send(stored.body);
    },
  );

  app.delete<{ Params: LineParams }>(
    '/carts/:cartId/items/:holdId',
    {
      schema: {
        operationId: 'removeCartItem',
        tags: ['carts'],
        summary: 'Remove a line: its stock is released at once',
        security,
        params: lineParams,
        response: {
          200: ref(holdResponseSchema, 'The line, removed (removing it again answers the same)'),
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 500),
        },
      },
      onRequest: ctx.requireCart,
    },
    async (request) => {
      assertLineOfCart(request.params);
      const { cartId, holdId } = request.params;
      try {
        const { line } = await lineUpdate(holdId, () =>
          temporal.workflow.getHandle(workflowIds.hold(holdId)).executeUpdate(removeLineUpdate),
        );
        if (line.status !== 'removed') {
          throw new HttpError('line_not_pending', `the line has ended (${line.status})`);
        }
        metrics.holds.labels('removed').inc();
        return { holdId, status: 'removed', quantity: line.quantity };
      } catch (err) {
        // Removing a removed line again is a no-op (DELETE is idempotent); an expired or bought one cannot be.
        const line = await cartLines.get(cartId, holdId);
        if (err instanceof HttpError && line?.status === 'removed') {
          return { holdId, status: 'removed', quantity: line.quantity };
        }
        throw err;
      }
    },
  );

  app.get<{ Params: CartParams }>(
    '/carts/:cartId',
    {
      schema: {
        operationId: 'getCart',
        tags: ['carts'],
        summary: "A cart's lines",
        security,
        params: cartParams,
        response: {
          200: {
            description: "The cart's lines, oldest change first",
            type: 'object',
            required: ['cartId', 'lines'],
            properties: { cartId: { type: 'string' }, lines: { type: 'array', items: ref(cartLineSchema) } },
          },
          ...errorResponses(400, 401, 403, 429, 500),
        },
      },
      onRequest: ctx.requireCart,
    },
    async (request) => {
      const { cartId } = request.params;
      const lines = await cartLines.list(cartId);
      lines.sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
      return { cartId, lines };
    },
  );

  app.post<{ Params: CartParams; Body: { paymentToken: string } }>(
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
        headers: idempotencyHeadersSchema,
        params: cartParams,
        body: {
          type: 'object',
          required: ['paymentToken'],
          additionalProperties: false,
          // A provider token (Stripe's tok_/pm_ ids); anything else is a malformed request, not a decline.
          properties: { paymentToken: { type: 'string', pattern: '^(tok|pm)_[A-Za-z0-9]{1,100}$' } },
        },
        response: {
          202: {
            description: 'The order is checking out: poll it until it is completed or failed',
            type: 'object',
            required: ['orderId'],
            properties: { orderId: { type: 'string' } },
            headers: { ...locationHeader, ...replayedHeader },
          },
          ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429, 500),
        },
      },
      onRequest: ctx.requireCart,
    },
    async (request, reply) => {
      const { cartId } = request.params;
      const key = request.headers['idempotency-key'] as string;
      const result = await ctx.idempotency.run(`checkout:${cartId}`, key, request.body, async () => {
        const orderId = `o${keyDigest(`checkout:${cartId}`, key)}`;
        await startCheckout({ orderId, cartId, paymentToken: request.body.paymentToken });
        return { statusCode: 202, body: { orderId } };
      });
      if (result.statusCode === 202) {
        reply.header('location', `${app.prefix}/orders/${(result.body as { orderId: string }).orderId}`);
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
    const orders = shards.cartsDb(shards.shardFor(input.orderId)).collection<Order>(collections.carts.orders);
    if (await orders.findOne({ _id: input.orderId } as never, { projection: { _id: 1 } })) return;
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

  app.get<{ Params: { orderId: string } }>(
    '/orders/:orderId',
    {
      schema: {
        operationId: 'getOrder',
        tags: ['orders'],
        summary: 'An order and its status',
        security,
        params: { type: 'object', required: ['orderId'], properties: { orderId: idSchema } },
        response: {
          200: ref(orderSchema, 'The order: pending while its saga runs, then completed or failed (with a reason)'),
          ...errorResponses(400, 401, 403, 404, 429, 500),
        },
      },
    },
    async (request) => {
      const cartId = ctx.cartOf(request);
      const { orderId } = request.params;
      const stored = await shards
        .cartsDb(shards.shardFor(orderId))
        .collection<Order>(collections.carts.orders)
        .findOne({ _id: orderId } as never, { projection: { _id: 0 } });
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
