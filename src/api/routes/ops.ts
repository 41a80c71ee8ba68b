import { checkSystem } from '../../ops/check-system';
import { OrderId } from '../../contract/search-attributes';
import { checkInvariants } from '../../stock';
import { errorResponses, InvariantReport, Overview, ref, SkuParams, SystemReport } from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';
import { listWorkflows } from '../workflow-list';

/** Ops' view of the whole store: an overview with links to runs, the system check and a SKU's invariants. */
export async function opsRoutes(app: HttpApp, ctx: RouteContext) {
  const { temporal, stock, shards } = ctx;
  const security = [{ bearer: [] }];
  const common = { onRequest: ctx.requireOps };

  app.get(
    '/ops/overview',
    {
      schema: {
        operationId: 'getOpsOverview',
        tags: ['ops'],
        summary: 'Recent carts and orders with links to their runs (ops)',
        security,
        response: {
          200: ref(Overview, 'Up to 50 recent carts and orders'),
          ...errorResponses(401, 403, 429, 500),
        },
      },
      ...common,
    },
    async (): Promise<Overview> => {
      const [holds, checkouts, refusals] = await Promise.all([
        listWorkflows(temporal, `WorkflowType = 'holdWorkflow' AND TaskQueue = '${ctx.settings.taskQueue}'`, 50),
        listWorkflows(temporal, `WorkflowType = 'checkoutWorkflow' AND TaskQueue = '${ctx.settings.taskQueue}'`, 50),
        ctx.metrics.soldOutRefusals.get(),
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
        soldOutRefusals: refusals.values
          .map(({ labels, value }) => ({ sku: String(labels.sku), count: value }))
          .sort((a, b) => a.sku.localeCompare(b.sku)),
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
          200: ref(SystemReport, 'The violations (none when ok), counts, and money and stock totals'),
          ...errorResponses(401, 403, 429, 500),
        },
      },
      ...common,
    },
    async () => checkSystem(stock, shards),
  );

  app.get(
    '/ops/invariants/:sku',
    {
      schema: {
        operationId: 'checkProductInvariants',
        tags: ['ops'],
        summary: "Replay a SKU's ledgers and check every invariant (ops)",
        security,
        params: SkuParams,
        response: {
          200: ref(InvariantReport, "The SKU's violations (none when ok) and replayed balances"),
          ...errorResponses(400, 401, 403, 404, 429, 500),
        },
      },
      ...common,
    },
    async (request) => checkInvariants(stock, shards, request.params.sku),
  );
}
