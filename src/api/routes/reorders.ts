import { WorkflowNotFoundError } from '@temporalio/client';
import type { Static, TSchema } from 'typebox';
import {
  approveReorderSignal,
  receiveReorderSignal,
  rejectReorderSignal,
  reorderStateQuery,
} from '../../contract/messages';
import { workflowIds } from '../../contract/workflow-ids';
import {
  ApproveReorderBody,
  described,
  errorResponses,
  ReceiveReorderBody,
  ref,
  RejectReorderBody,
  Reorder,
  ReorderList,
  SkuParams,
} from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';
import { HttpError } from '../errors';
import { listWorkflows } from '../workflow-list';

/** Low-stock reorders (ops): the open ones, and a human's approve, reject and receive. */
export async function reorderRoutes(app: HttpApp, ctx: RouteContext) {
  const { temporal } = ctx;
  const security = [{ bearer: [] }];
  const common = { onRequest: ctx.requireOps };
  type Handle = ReturnType<typeof temporal.workflow.getHandle>;

  async function signalReorder(sku: string, send: (handle: Handle) => Promise<void>) {
    const handle = temporal.workflow.getHandle(workflowIds.reorder(sku));
    try {
      await send(handle);
      return await handle.query(reorderStateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpError('unknown_reorder', `no open reorder for ${sku}`);
      throw err;
    }
  }

  app.get(
    '/reorders',
    {
      schema: {
        operationId: 'listReorders',
        tags: ['reorders'],
        summary: 'Open reorder requests awaiting a decision or delivery (ops)',
        security,
        response: {
          200: described(ReorderList, 'The open reorders, each with its workflow and Web UI link'),
          ...errorResponses(401, 403, 429, 500),
        },
      },
      ...common,
    },
    async () => {
      const running = await listWorkflows(
        temporal,
        `WorkflowType = 'reorderWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${ctx.settings.taskQueue}'`,
        100,
      );
      const reorders = await Promise.all(
        running.map(async (execution) => {
          const handle = temporal.workflow.getHandle(execution.workflowId);
          // A run no worker answers for (a worker restarting) must not hold up the whole list.
          const state = await temporal.connection
            .withDeadline(Date.now() + 3000, () => handle.query(reorderStateQuery))
            .catch(() => ({ sku: execution.workflowId.replace(/^reorder-/, ''), status: 'unknown' as const }));
          return { ...state, workflowId: execution.workflowId, runUrl: ctx.runUrl(execution.workflowId) };
        }),
      );
      return { reorders };
    },
  );

  const decision = <B extends TSchema>(
    action: 'approve' | 'reject' | 'receive',
    body: B,
    send: (body: Static<B>) => (h: Handle) => Promise<void>,
  ) =>
    app.post(
      `/reorders/:sku/${action}`,
      {
        schema: {
          operationId: `${action}Reorder`,
          tags: ['reorders'],
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a reorder (ops)`,
          security,
          params: SkuParams,
          body,
          response: {
            200: ref(Reorder, 'The reorder after the decision'),
            ...errorResponses(400, 401, 403, 404, 413, 415, 429, 500),
          },
        },
        ...common,
      },
      async (request) => signalReorder(request.params.sku, send(request.body as Static<B>)),
    );
  decision(
    'approve',
    ApproveReorderBody,
    (body) => (h) =>
      h.signal(approveReorderSignal, { by: 'ops', ...(body.quantity ? { quantity: body.quantity } : {}) }),
  );
  decision(
    'reject',
    RejectReorderBody,
    (body) => (h) => h.signal(rejectReorderSignal, { by: 'ops', ...(body.reason ? { reason: body.reason } : {}) }),
  );
  decision(
    'receive',
    ReceiveReorderBody,
    (body) => (h) => h.signal(receiveReorderSignal, body.quantity ? { quantity: body.quantity } : {}),
  );
}
