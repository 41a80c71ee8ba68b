import { WorkflowNotFoundError, type WorkflowExecutionInfo } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { checkSystem } from '../../ops/check-system';
import { OrderId } from '../../contract/search-attributes';
import { checkInvariants } from '../../stock';
import {
  approveReorderSignal,
  backorderQueueQuery,
  holdStateQuery,
  receiveReorderSignal,
  rejectReorderSignal,
  removeLineUpdate,
  reorderStateQuery,
  reprioritiseBackorderSignal,
} from '../../contract/messages';
import type { BackorderQueueState } from '../../contract/types';
import { workflowIds } from '../../contract/workflow-ids';
import type { RouteContext } from '../app';
import { HttpError } from '../errors';
import {
  backorderQueueSchema,
  errorResponses,
  idSchema,
  invariantReportSchema,
  lineStatusSchema,
  overviewSchema,
  ref,
  reorderStateSchema,
  skuSchema,
  systemReportSchema,
} from '../schemas';

interface SkuParams {
  sku: string;
}
const skuParams = { type: 'object', required: ['sku'], properties: { sku: skuSchema } } as const;
const backorderParams = {
  type: 'object',
  required: ['sku', 'holdId'],
  properties: { sku: skuSchema, holdId: idSchema },
} as const;
const optionalQuantity = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const;

/** Ops: backorder queues, reorder approvals, an overview with links to runs, and the invariant checker. */
export async function opsRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { temporal, stock, shards } = ctx;
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

  async function signalReorder(
    sku: string,
    send: (handle: ReturnType<typeof temporal.workflow.getHandle>) => Promise<void>,
  ) {
    const handle = temporal.workflow.getHandle(workflowIds.reorder(sku));
    try {
      await send(handle);
      return await handle.query(reorderStateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpError('unknown_reorder', `no open reorder for ${sku}`);
      throw err;
    }
  }

  async function list(query: string, limit: number): Promise<WorkflowExecutionInfo[]> {
    const found: WorkflowExecutionInfo[] = [];
    for await (const execution of temporal.workflow.list({ query, pageSize: limit })) {
      found.push(execution);
      if (found.length >= limit) break;
    }
    return found;
  }

  app.get<{ Params: SkuParams }>(
    '/products/:sku/backorders',
    {
      schema: {
        operationId: 'listBackorders',
        tags: ['backorders'],
        summary: 'Waiting backorders, in fill order (ops)',
        security,
        params: skuParams,
        response: {
          200: ref(backorderQueueSchema, 'The waiting lines, first to be filled first, and how many were filled'),
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

  app.delete<{ Params: SkuParams & { holdId: string } }>(
    '/products/:sku/backorders/:holdId',
    {
      schema: {
        operationId: 'cancelBackorder',
        tags: ['backorders'],
        summary: 'Cancel a waiting backorder (ops)',
        security,
        params: backorderParams,
        response: {
          200: {
            description: 'The line, removed (cancelling it again answers the same)',
            type: 'object',
            required: ['holdId', 'status'],
            properties: { holdId: { type: 'string' }, status: lineStatusSchema },
          },
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
      if (!state || state.line.sku !== sku || !['backordered', 'removed'].includes(state.line.status)) {
        throw new HttpError('unknown_backorder', `${holdId} is not a backorder of ${sku}`);
      }
      // Cancelling a cancelled backorder again answers the same (DELETE is idempotent).
      if (state.line.status === 'removed') return { holdId, status: state.line.status };
      const { line } = await handle.executeUpdate(removeLineUpdate);
      return { holdId, status: line.status };
    },
  );

  app.post<{ Params: SkuParams & { holdId: string }; Body: { position: number } }>(
    '/products/:sku/backorders/:holdId/position',
    {
      schema: {
        operationId: 'reprioritiseBackorder',
        tags: ['backorders'],
        summary: 'Move a waiting backorder in the queue (0 = first) (ops)',
        security,
        params: backorderParams,
        body: {
          type: 'object',
          required: ['position'],
          additionalProperties: false,
          properties: { position: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
        },
        response: {
          200: {
            description: 'Sent to the queue, which moves the line unless it was filled meanwhile',
            type: 'object',
            required: ['sku', 'holdId', 'position'],
            properties: { sku: { type: 'string' }, holdId: { type: 'string' }, position: { type: 'integer' } },
          },
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

  app.get(
    '/reorders',
    {
      schema: {
        operationId: 'listReorders',
        tags: ['reorders'],
        summary: 'Open reorder requests awaiting a decision or delivery (ops)',
        security,
        response: {
          200: {
            description: 'The open reorders, each with its workflow and Web UI link',
            type: 'object',
            required: ['reorders'],
            properties: { reorders: { type: 'array', items: ref(reorderStateSchema) } },
          },
          ...errorResponses(401, 403, 429, 500),
        },
      },
      ...common,
    },
    async () => {
      const running = await list(
        `WorkflowType = 'reorderWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${ctx.settings.taskQueue}'`,
        100,
      );
      const reorders = await Promise.all(
        running.map(async (execution) => {
          const handle = temporal.workflow.getHandle(execution.workflowId);
          // A run no worker answers for (a worker restarting) must not hold up the whole list.
          const state = await temporal.connection
            .withDeadline(Date.now() + 3000, () => handle.query(reorderStateQuery))
            .catch(() => ({ sku: execution.workflowId.replace(/^reorder-/, ''), status: 'unknown' }));
          return { ...state, workflowId: execution.workflowId, runUrl: ctx.runUrl(execution.workflowId) };
        }),
      );
      return { reorders };
    },
  );

  const decision = (
    action: 'approve' | 'reject' | 'receive',
    body: Record<string, unknown>,
    send: (request: {
      params: SkuParams;
      body: Record<string, unknown>;
    }) => (h: ReturnType<typeof temporal.workflow.getHandle>) => Promise<void>,
  ) =>
    app.post<{ Params: SkuParams; Body: Record<string, unknown> }>(
      `/reorders/:sku/${action}`,
      {
        schema: {
          operationId: `${action}Reorder`,
          tags: ['reorders'],
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a reorder (ops)`,
          security,
          params: skuParams,
          body: { type: 'object', additionalProperties: false, properties: body },
          response: {
            200: ref(reorderStateSchema, 'The reorder after the decision'),
            ...errorResponses(400, 401, 403, 404, 413, 415, 429, 500),
          },
        },
        ...common,
      },
      async (request) => signalReorder(request.params.sku, send(request)),
    );
  decision(
    'approve',
    { quantity: optionalQuantity },
    (request) => (h) =>
      h.signal(approveReorderSignal, {
        by: 'ops',
        ...(request.body.quantity ? { quantity: request.body.quantity as number } : {}),
      }),
  );
  decision(
    'reject',
    { reason: { type: 'string', maxLength: 500 } },
    (request) => (h) =>
      h.signal(rejectReorderSignal, {
        by: 'ops',
        ...(request.body.reason ? { reason: request.body.reason as string } : {}),
      }),
  );
  decision(
    'receive',
    { quantity: optionalQuantity },
    (request) => (h) =>
      h.signal(receiveReorderSignal, request.body.quantity ? { quantity: request.body.quantity as number } : {}),
  );

  app.get(
    '/ops/overview',
    {
      schema: {
        operationId: 'getOpsOverview',
        tags: ['ops'],
        summary: 'Recent carts and orders with links to their runs (ops)',
        security,
        response: {
          200: ref(overviewSchema, 'Up to 50 recent carts and orders'),
          ...errorResponses(401, 403, 429, 500),
        },
      },
      ...common,
    },
    async () => {
      const [holds, checkouts] = await Promise.all([
        list(`WorkflowType = 'holdWorkflow' AND TaskQueue = '${ctx.settings.taskQueue}'`, 50),
        list(`WorkflowType = 'checkoutWorkflow' AND TaskQueue = '${ctx.settings.taskQueue}'`, 50),
      ]);
      const carts = new Map<string, string | undefined>();
      for (const h of holds) {
        const cartId = h.typedSearchAttributes.get({ name: 'CartId', type: 'KEYWORD' } as never) as string | undefined;
        if (cartId && !carts.has(cartId)) carts.set(cartId, ctx.runUrl(h.workflowId));
      }
      return {
        temporalUiUrl: ctx.settings.temporalUiUrl,
        carts: [...carts].map(([cartId, runUrl]) => ({ cartId, runUrl })),
        orders: checkouts.map((c) => ({
          orderId: c.typedSearchAttributes.get(OrderId) ?? c.workflowId,
          status: c.status.name === 'RUNNING' ? 'pending' : c.status.name === 'COMPLETED' ? 'completed' : 'failed',
          runUrl: ctx.runUrl(c.workflowId, c.runId),
        })),
      };
    },
  );

  app.get(
    '/ops/check',
    {
      schema: {
        operationId: 'checkSystem',
        tags: ['ops'],
        summary: 'Check the whole system: every ledger, cart line, order and charge (ops)',
        description: 'For a quiet system: a checkout or fill in flight shows as a violation until it settles.',
        security,
        response: {
          200: ref(systemReportSchema, 'The violations (none when ok), counts, and money and stock totals'),
          ...errorResponses(401, 403, 429, 500),
        },
      },
      ...common,
    },
    async () => checkSystem(stock, shards),
  );

  app.get<{ Params: SkuParams }>(
    '/ops/invariants/:sku',
    {
      schema: {
        operationId: 'checkProductInvariants',
        tags: ['ops'],
        summary: "Replay a SKU's ledgers and check every invariant (ops)",
        security,
        params: skuParams,
        response: {
          200: ref(invariantReportSchema, "The SKU's violations (none when ok) and replayed balances"),
          ...errorResponses(400, 401, 403, 404, 429, 500),
        },
      },
      ...common,
    },
    async (request) => checkInvariants(stock, shards, request.params.sku),
  );
}
