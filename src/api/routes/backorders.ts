import { WorkflowNotFoundError } from '@temporalio/client';
import {
  backorderQueueQuery,
  holdStateQuery,
  removeLineUpdate,
  reprioritiseBackorderSignal,
} from '../../contract/messages';
import type { BackorderQueueState } from '../../contract/types';
import { workflowIds } from '../../contract/workflow-ids';
import {
  BackorderParams,
  BackorderQueue,
  CancelledBackorder,
  described,
  errorResponses,
  ref,
  Reprioritised,
  ReprioritiseBody,
  SkuParams,
} from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';
import { HttpError } from '../errors';

/** A backorder product's queue of waiting lines (ops): list it, cancel a line, move one. */
export async function backorderRoutes(app: HttpApp, ctx: RouteContext) {
  const { temporal, stock } = ctx;
  const security = [{ bearer: [] }];
  const common = { onRequest: ctx.requireOps };

  async function queueOf(sku: string): Promise<BackorderQueueState> {
    await stock.product(sku);
    try {
      return await temporal.workflow.getHandle(workflowIds.backorders(sku)).query(backorderQueueQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { sku, waiting: [], filled: 0, busy: false };
      throw err;
    }
  }

  app.get(
    '/products/:sku/backorders',
    {
      schema: {
        operationId: 'listBackorders',
        tags: ['backorders'],
        summary: 'Waiting backorders, in fill order (ops)',
        security,
        params: SkuParams,
        response: {
          200: ref(BackorderQueue, 'The waiting lines, first to be filled first, and how many were filled'),
          ...errorResponses(400, 401, 403, 404, 429, 500),
        },
      },
      ...common,
    },
    async (request) => {
      const queue = await queueOf(request.params.sku);
      return { sku: queue.sku, waiting: queue.waiting, filled: queue.filled };
    },
  );

  app.delete(
    '/products/:sku/backorders/:holdId',
    {
      schema: {
        operationId: 'cancelBackorder',
        tags: ['backorders'],
        summary: 'Cancel a waiting backorder (ops)',
        security,
        params: BackorderParams,
        response: {
          200: described(CancelledBackorder, 'The line, removed (cancelling it again answers the same)'),
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 500),
        },
      },
      ...common,
    },
    async (request) => {
      const { sku, holdId } = request.params;
      await stock.product(sku);
      const handle = temporal.workflow.getHandle(workflowIds.hold(holdId));
      const state = await handle.query(holdStateQuery).catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      });
      // Only a backorder of this SKU: this route must not remove a shopper's held line, nor another SKU's.
      if (!state || state.line.sku !== sku || !['backordered', 'waitlisted', 'removed'].includes(state.line.status)) {
        throw new HttpError('unknown_backorder', `${holdId} is not a backorder of ${sku}`);
      }
      // Cancelling a cancelled backorder again answers the same (DELETE is idempotent).
      if (state.line.status === 'removed') return { holdId, status: state.line.status };
      const { line } = await handle.executeUpdate(removeLineUpdate);
      return { holdId, status: line.status };
    },
  );

  app.post(
    '/products/:sku/backorders/:holdId/position',
    {
      schema: {
        operationId: 'reprioritiseBackorder',
        tags: ['backorders'],
        summary: 'Move a waiting backorder in the queue (0 = first) (ops)',
        security,
        params: BackorderParams,
        body: ReprioritiseBody,
        response: {
          200: described(Reprioritised, 'Sent to the queue, which moves the line unless it was filled meanwhile'),
          ...errorResponses(400, 401, 403, 404, 413, 415, 429, 500),
        },
      },
      ...common,
    },
    async (request) => {
      const { sku, holdId } = request.params;
      const queue = await queueOf(sku);
      if (!queue.waiting.some((e) => e.holdId === holdId)) {
        throw new HttpError('unknown_backorder', `${holdId} is not waiting for ${sku}`);
      }
      await temporal.workflow
        .getHandle(workflowIds.backorders(sku))
        .signal(reprioritiseBackorderSignal, { holdId, position: request.body.position });
      return { sku, holdId, position: request.body.position };
    },
  );
}
