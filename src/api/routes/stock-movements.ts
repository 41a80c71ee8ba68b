import { keyDigest } from '../idempotency';
import { restockSignal, unitsReturnedSignal } from '../../contract/messages';
import { eventId } from '../../contract/events';
import { EventStore, SoldOutEpisodes } from '../../events';
import { routesThroughQueue } from '../../contract/stock-routing';
import { workflowIds } from '../../contract/workflow-ids';
import {
  described,
  errorResponses,
  IdempotencyHeaders,
  MoveBody,
  Moved,
  replayedHeader,
  RestockBody,
  Restocked,
  SkuParams,
} from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';

/** Ops' stock movements: receiving new units, and moving units between available and the non-sellable states. */
export async function stockMovementRoutes(app: HttpApp, ctx: RouteContext) {
  const { stock, temporal, settings } = ctx;
  const security = [{ bearer: [] }];
  const episodes = new SoldOutEpisodes(new EventStore(ctx.shards), eventId);

  /** Asks the SKU's queue workflow for a pass (starting it if need be). */
  const pokeQueue = (sku: string) =>
    temporal.workflow.signalWithStart('backorderQueueWorkflow', {
      workflowId: workflowIds.backorders(sku),
      taskQueue: settings.taskQueue,
      args: [{ sku }],
      signal: unitsReturnedSignal,
    });

  app.post(
    '/products/:sku/restock',
    {
      schema: {
        operationId: 'restockProduct',
        tags: ['products'],
        summary: 'Receive new units (backorder and waitlist products serve their queue first) (ops)',
        security,
        params: SkuParams,
        headers: IdempotencyHeaders,
        body: RestockBody,
        response: {
          202: described(
            Restocked,
            'Received, or handed to the backorder queue to receive (opId names the receipt)',
            replayedHeader,
          ),
          ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429, 500),
        },
      },
      onRequest: ctx.requireOps,
    },
    async (request, reply) => {
      const { sku } = request.params;
      const { quantity } = request.body;
      const key = request.headers['idempotency-key'];
      const result = await ctx.idempotency.run(`restock:${sku}`, key, request.body, async () => {
        const product = await stock.product(sku);
        // One key, one receipt: the ledger receives once per operation id, through the backorder queue or not.
        const opId = `restock-${keyDigest(`restock:${sku}`, key)}`;
        if (routesThroughQueue(product)) {
          await temporal.workflow.signalWithStart('backorderQueueWorkflow', {
            workflowId: workflowIds.backorders(sku),
            taskQueue: settings.taskQueue,
            args: [{ sku }],
            signal: restockSignal,
            signalArgs: [{ opId, quantity }],
          });
        } else {
          await stock.restock(opId, sku, quantity);
          // Back in stock is recorded by a worker's step (events go out through Temporal): the SKU's queue, poked,
          // makes one pass with nobody waiting, which records it (see releaseIncoming).
          if ((await episodes.current(sku)).open) await pokeQueue(sku);
        }
        return { statusCode: 202 as const, body: { sku, quantity, opId } };
      });
      return reply.code(result.statusCode).header('idempotent-replayed', String(result.replayed)).send(result.body);
    },
  );

  app.post(
    '/products/:sku/moves',
    {
      schema: {
        operationId: 'moveProductStock',
        tags: ['products'],
        summary: 'Move units between available and the non-sellable states (ops)',
        security,
        params: SkuParams,
        headers: IdempotencyHeaders,
        body: MoveBody,
        response: {
          200: described(Moved, 'Moved (409 insufficient_stock when `from` has fewer units)', replayedHeader),
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 500),
        },
      },
      onRequest: ctx.requireOps,
    },
    async (request, reply) => {
      const { sku } = request.params;
      const { quantity, from, to } = request.body;
      const key = request.headers['idempotency-key'];
      const result = await ctx.idempotency.run(`move:${sku}`, key, request.body, async () => {
        // One key, one move: the ledger records a move's outcome once per operation id, refusals included.
        await stock.moveState(`move-${keyDigest(`move:${sku}`, key)}`, sku, quantity, from, to);
        // Units put back on sale belong to a queue's waiting first: its next pass keeps them for the head. A strict
        // SKU's episode follows the move, recorded by the poked queue's pass: units back on sale end an open one,
        // and units taken off sale may sell the SKU out.
        const product = await stock.product(sku);
        if (to === 'available' && routesThroughQueue(product)) await pokeQueue(sku);
        else if (product.policy === 'strict' && (to === 'available' || from === 'available')) {
          const open = (await episodes.current(sku)).open;
          if (to === 'available' ? open : !open && (await stock.sellable(sku)) === 0) await pokeQueue(sku);
        }
        return { statusCode: 200 as const, body: { sku, quantity, from, to } };
      });
      return reply.code(result.statusCode).header('idempotent-replayed', String(result.replayed)).send(result.body);
    },
  );
}
