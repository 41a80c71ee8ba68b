import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { gateRate } from '../../admission';
import { CartLineStore } from '../../carts';
import { addToCartUpdate, changeQuantityUpdate, removeLineUpdate } from '../../contract/messages';
import { holdStartOperation, retryingStart } from '../hold-start';
import type { holdWorkflow } from '../../workflows/hold';
import { firstAnswerOf } from '../../contract/line-answer';
import type { AddToCartResult, HoldWorkflowInput } from '../../contract/types';
import { workflowIds } from '../../contract/workflow-ids';
import {
  addCartItemBody,
  changeCartItemBody,
  errorResponses,
  Hold,
  IdempotencyHeaders,
  Queued,
  LineParams,
  locationHeader,
  ref,
  replayedHeader,
  CartParams,
  type ErrorBody,
} from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';
import { HttpError } from '../errors';
import { IdempotencyKeyReusedError, keyDigest } from '../idempotency';

/** A cart's lines, each a hold workflow: add (reserve), change the quantity, remove. */
export async function cartLineRoutes(app: HttpApp, ctx: RouteContext) {
  const { temporal, settings, metrics, shards } = ctx;
  const security = [{ bearer: [] }];
  const cartLines = new CartLineStore(shards);

  /** A line's answer as the HTTP response it is sent and kept as, counted in holdfast_holds_total. */
  function holdReply<C extends 200 | 201>(result: AddToCartResult, statusCode: C, requestId: string) {
    metrics.holds.labels(result.status).inc();
    return holdAnswer(result, statusCode, requestId);
  }

  function holdAnswer<C extends 200 | 201>(result: AddToCartResult, statusCode: C, requestId: string) {
    if (result.status === 'limit_reached') {
      return {
        statusCode: 409 as const,
        body: {
          error: 'limit_reached',
          message: `at most ${result.limit} per customer: that many are already in your carts or bought`,
          holdId: result.holdId,
          limit: result.limit,
          requestId,
        } satisfies ErrorBody,
      };
    }
    if (result.status === 'out_of_stock') {
      return {
        statusCode: 409 as const,
        body: {
          error: 'out_of_stock',
          message: `only ${result.available} available`,
          holdId: result.holdId,
          available: result.available,
          requestId,
        } satisfies ErrorBody,
      };
    }
    return { statusCode, body: result };
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
    '/carts/:cartId/items',
    {
      schema: {
        operationId: 'addCartItem',
        tags: ['carts'],
        summary: 'Add to cart: reserve stock and hold it (a hold workflow)',
        description:
          '201 held (until expiresAt), backordered, or waitlisted (with waitlist: true); 409 out_of_stock ' +
          "names the refused line (holdId) and how many units are available; 409 limit_reached names the product's per-customer limit (limit). The same " +
          "Idempotency-Key and body replays the first answer (idempotent-replayed: true). For a drop's SKU (a " +
          'product with admitPerSecond), 202 queued: the shopper waits in line, nothing is reserved yet; send ' +
          'the same request again after Retry-After.',
        security,
        headers: IdempotencyHeaders,
        params: CartParams,
        body: addCartItemBody(settings.maxLineQuantity),
        response: {
          201: ref(Hold, 'The line: held, backordered, or waitlisted', { ...locationHeader, ...replayedHeader }),
          202: ref(Queued, "Waiting in the drop's line: its position, and when to ask again", {
            'retry-after': { type: 'integer', description: 'Seconds to wait before sending the request again' },
          }),
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 500),
        },
      },
      onRequest: ctx.requireCart,
    },
    async (request, reply) => {
      const { cartId } = request.params;
      const { customerId } = ctx.claimOf(request);
      const key = request.headers['idempotency-key'];
      const { sku, quantity, waitlist } = request.body;
      const holdId = `${cartId}.${keyDigest(cartId, key)}`;
      // A sold-out SKU is refused at once, with the evidence the line's first reservation would refuse it on, and
      // the refusal recorded as that reservation's outcome (see StockService.refuseAtOnce): no workflow, no stock
      // written. So it is asked before the key's record is looked up; its answer is kept under the key like any
      // other (one that stands wins), and a run of the line for the key, before or after, answers the same.
      let refusedFast = false;
      const refusedAtOnce = async () => {
        const product = await ctx.stock.product(sku); // 404 for an unknown SKU, before any workflow starts
        // A shopper asking to join a waitlist is not refused for a sold-out SKU: that is what the list is for.
        if (product.policy !== 'strict' || (waitlist && product.offerSeconds !== undefined)) return undefined;
        const available = await ctx.stock.refuseAtOnce(holdId, sku, quantity);
        if (available === undefined) return undefined;
        refusedFast = true;
        return holdAnswer({ status: 'out_of_stock', holdId, available }, 201, request.id);
      };
      const handler = async (requestHash: string) => {
        const product = await ctx.stock.product(sku);
        if (product.admitPerSecond !== undefined) {
          // A drop: the line waits its turn (a place in arrival order) before it may reserve anything.
          const rate = gateRate(product.admitPerSecond);
          const admission = await ctx.waitingRoom.admit(sku, holdId, requestHash, rate);
          // The key's place was taken for another body: 422, as for a recorded answer.
          if (admission.status === 'conflict') throw new IdempotencyKeyReusedError();
          metrics.waitingRoom.labels(sku, admission.status).inc();
          if (admission.status === 'queued') {
            const { position, retryAfterSeconds } = admission;
            return {
              statusCode: 202 as const,
              body: { status: 'queued' as const, holdId, sku, position, retryAfterSeconds },
              provisional: true as const,
            };
          }
        }
        const input: HoldWorkflowInput = {
          holdId,
          cartId,
          sku,
          quantity,
          ...(customerId !== undefined ? { customerId } : {}),
          ttlSeconds: settings.holdTtlSeconds,
          maxHoldSeconds: settings.maxHoldSeconds,
          ...(waitlist ? { waitlist } : {}),
        };
        try {
          const added = await retryingStart(() =>
            temporal.workflow.executeUpdateWithStart(addToCartUpdate, {
              startWorkflowOperation: holdStartOperation(input, settings.taskQueue),
            }),
          );
          return holdReply(added, 201, request.id);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          // The key's line has ended (a refusal ends at once) and its answer was not recorded (a twin request
          // is about to, or a crash lost it): the ended run says what the first answer was.
          const line = await temporal.workflow.getHandle<typeof holdWorkflow>(workflowIds.hold(input.holdId)).result();
          return holdReply(firstAnswerOf(line), 201, request.id);
        }
      };
      const result = await ctx.idempotency.run(`items:${cartId}`, key, request.body, handler, {
        beforeLookup: refusedAtOnce,
      });
      if (refusedFast && !result.replayed) {
        metrics.holds.labels('out_of_stock').inc();
        metrics.soldOutRefusals.labels(sku).inc();
      }
      if (result.statusCode === 201) {
        reply.header('location', `${app.prefix}/carts/${cartId}/items/${result.body.holdId}`);
      }
      if (result.statusCode === 202) reply.header('retry-after', String(result.body.retryAfterSeconds));
      return reply.code(result.statusCode).header('idempotent-replayed', String(result.replayed)).send(result.body);
    },
  );

  app.patch(
    '/carts/:cartId/items/:holdId',
    {
      schema: {
        operationId: 'changeCartItem',
        tags: ['carts'],
        summary: "Change a line's quantity (reserves or releases the difference)",
        security,
        params: LineParams,
        body: changeCartItemBody(settings.maxLineQuantity),
        response: {
          200: ref(Hold, 'The line with its new quantity'),
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
      const stored = holdReply(result, 200, request.id);
      return reply.code(stored.statusCode).send(stored.body);
    },
  );

  app.delete(
    '/carts/:cartId/items/:holdId',
    {
      schema: {
        operationId: 'removeCartItem',
        tags: ['carts'],
        summary: 'Remove a line: its stock is released at once (a waitlisted line leaves the waitlist)',
        security,
        params: LineParams,
        response: {
          200: ref(Hold, 'The line, removed (removing it again answers the same)'),
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
        return { holdId, status: 'removed' as const, quantity: line.quantity };
      } catch (err) {
        // Removing a removed line again is a no-op (DELETE is idempotent); an expired or bought one cannot be.
        const line = await cartLines.get(cartId, holdId);
        if (err instanceof HttpError && line?.status === 'removed') {
          return { holdId, status: 'removed' as const, quantity: line.quantity };
        }
        throw err;
      }
    },
  );
}
