import type { FastifyInstance } from 'fastify';
import {
  ProductConflictError,
  type MovableState,
  type ProductDoc,
  type ProductInput,
  type StockPolicy,
} from '../../stock';
import { backorderQueueQuery, restockSignal } from '../../contract/messages';
import { workflowIds } from '../../contract/workflow-ids';
import type { RouteContext } from '../app';
import { IdempotencyKeyReusedError, keyDigest } from '../idempotency';
import {
  errorResponses,
  idempotencyHeadersSchema,
  locationHeader,
  productViewSchema,
  ref,
  replayedHeader,
  skuSchema,
  stateSchema,
} from '../schemas';

interface SkuParams {
  sku: string;
}
interface ProductBody {
  sku: string;
  name: string;
  priceCents: number;
  quantity: number;
  policy: StockPolicy;
  buckets?: number;
  lowStockThreshold?: number;
  reorderQuantity?: number;
}

const skuParams = { type: 'object', required: ['sku'], properties: { sku: skuSchema } } as const;
const units = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const;

/** The catalog with live stock (public), and ops' stock movements. */
export async function productRoutes(app: FastifyInstance, ctx: RouteContext) {
  const { stock, temporal, settings } = ctx;
  const security = [{ bearer: [] }];

  async function backordered(product: ProductDoc): Promise<number> {
    if (product.policy !== 'backorder') return 0;
    try {
      const queue = await temporal.workflow.getHandle(workflowIds.backorders(product.sku)).query(backorderQueueQuery);
      return queue.waiting.reduce((sum, e) => sum + e.quantity, 0);
    } catch {
      return 0; // no queue yet: nobody waits
    }
  }

  async function view(product: ProductDoc) {
    const [summary, waiting] = await Promise.all([stock.summary(product.sku), backordered(product)]);
    return {
      sku: product.sku,
      name: product.name,
      priceCents: product.priceCents,
      policy: product.policy,
      available: summary.available,
      reserved: summary.held,
      sold: summary.sold,
      backordered: waiting,
      incoming: summary.incoming,
      nonSellable: summary.nonSellable,
      lowStockThreshold: product.lowStockThreshold,
      reorderQuantity: product.reorderQuantity,
      buckets: product.buckets,
    };
  }

  app.get(
    '/products',
    {
      schema: {
        operationId: 'listProducts',
        tags: ['products'],
        summary: 'Products with live availability',
        response: {
          200: {
            description: 'Every product',
            type: 'object',
            required: ['products'],
            properties: { products: { type: 'array', items: ref(productViewSchema) } },
          },
          ...errorResponses(429, 500),
        },
      },
    },
    async () => ({ products: await Promise.all((await stock.listProducts()).map(view)) }),
  );

  app.get<{ Params: SkuParams }>(
    '/products/:sku',
    {
      schema: {
        operationId: 'getProduct',
        tags: ['products'],
        summary: 'One product with live availability',
        params: skuParams,
        response: { 200: ref(productViewSchema, 'The product'), ...errorResponses(400, 404, 429, 500) },
      },
    },
    async (request) => view(await stock.product(request.params.sku)),
  );

  app.post<{ Body: ProductBody }>(
    '/products',
    {
      schema: {
        operationId: 'createProduct',
        tags: ['products'],
        summary: 'Create a product and receive its initial stock (ops)',
        security,
        body: {
          type: 'object',
          required: ['sku', 'name', 'priceCents', 'quantity', 'policy'],
          additionalProperties: false,
          properties: {
            sku: skuSchema,
            name: { type: 'string', minLength: 1, maxLength: 200 },
            priceCents: { type: 'integer', minimum: 0, maximum: 100_000_000 },
            quantity: { type: 'integer', minimum: 0, maximum: 1_000_000 },
            policy: { type: 'string', enum: ['strict', 'backorder'] },
            buckets: { type: 'integer', minimum: 1, maximum: 64 },
            lowStockThreshold: { type: 'integer', minimum: 0, maximum: 1_000_000 },
            reorderQuantity: { type: 'integer', minimum: 0, maximum: 1_000_000 },
          },
        },
        // 201 the first time; the same definition again replays that answer (201, idempotent-replayed: true).
        response: {
          201: {
            ...ref(productViewSchema, 'The product, with its initial stock'),
            headers: { ...locationHeader, ...replayedHeader },
          },
          ...errorResponses(400, 401, 403, 409, 413, 415, 429, 500),
        },
      },
      onRequest: ctx.requireOps,
    },
    async (request, reply) => {
      const { quantity, ...given } = request.body;
      // The SKU is the key and the definition the request: defaults spelled out or not, in one key order.
      const input: ProductInput = {
        sku: given.sku,
        name: given.name,
        priceCents: given.priceCents,
        policy: given.policy,
        buckets: given.buckets ?? 8,
        lowStockThreshold: given.lowStockThreshold ?? 0,
        reorderQuantity: given.reorderQuantity ?? 0,
      };
      try {
        const result = await ctx.idempotency.run('product', input.sku, { ...input, quantity }, async () => ({
          statusCode: 201,
          body: await view(await stock.createProduct(input, quantity)),
        }));
        return reply
          .code(result.statusCode)
          .header('location', `${app.prefix}/products/${input.sku}`)
          .header('idempotent-replayed', String(result.replayed))
          .send(result.body);
      } catch (err) {
        if (err instanceof IdempotencyKeyReusedError) throw new ProductConflictError(input.sku);
        throw err;
      }
    },
  );

  app.post<{ Params: SkuParams; Body: { quantity: number } }>(
    '/products/:sku/restock',
    {
      schema: {
        operationId: 'restockProduct',
        tags: ['products'],
        summary: 'Receive new units (backorder products fill waiting backorders first) (ops)',
        security,
        params: skuParams,
        headers: idempotencyHeadersSchema,
        body: { type: 'object', required: ['quantity'], additionalProperties: false, properties: { quantity: units } },
        response: {
          202: {
            description: 'Received, or handed to the backorder queue to receive (opId names the receipt)',
            type: 'object',
            required: ['sku', 'quantity', 'opId'],
            properties: { sku: { type: 'string' }, quantity: { type: 'integer' }, opId: { type: 'string' } },
            headers: replayedHeader,
          },
          ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429, 500),
        },
      },
      onRequest: ctx.requireOps,
    },
    async (request, reply) => {
      const { sku } = request.params;
      const { quantity } = request.body;
      const key = request.headers['idempotency-key'] as string;
      const result = await ctx.idempotency.run(`restock:${sku}`, key, request.body, async () => {
        const product = await stock.product(sku);
        // One key, one receipt: the ledger receives once per operation id, through the backorder queue or not.
        const opId = `restock-${keyDigest(`restock:${sku}`, key)}`;
        if (product.policy === 'backorder') {
          await temporal.workflow.signalWithStart('backorderQueueWorkflow', {
            workflowId: workflowIds.backorders(sku),
            taskQueue: settings.taskQueue,
            args: [{ sku }],
            signal: restockSignal,
            signalArgs: [{ opId, quantity }],
          });
        } else {
          await stock.restock(opId, sku, quantity);
        }
        return { statusCode: 202, body: { sku, quantity, opId } };
      });
      return reply.code(result.statusCode).header('idempotent-replayed', String(result.replayed)).send(result.body);
    },
  );

  app.post<{ Params: SkuParams; Body: { quantity: number; from: MovableState; to: MovableState } }>(
    '/products/:sku/moves',
    {
      schema: {
        operationId: 'moveProductStock',
        tags: ['products'],
        summary: 'Move units between available and the non-sellable states (ops)',
        security,
        params: skuParams,
        headers: idempotencyHeadersSchema,
        body: {
          type: 'object',
          required: ['quantity', 'from', 'to'],
          additionalProperties: false,
          properties: { quantity: units, from: stateSchema, to: stateSchema },
        },
        response: {
          200: {
            description: 'Moved (409 insufficient_stock when `from` has fewer units)',
            type: 'object',
            required: ['sku', 'quantity', 'from', 'to'],
            properties: { sku: { type: 'string' }, quantity: { type: 'integer' }, from: stateSchema, to: stateSchema },
            headers: replayedHeader,
          },
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 500),
        },
      },
      onRequest: ctx.requireOps,
    },
    async (request, reply) => {
      const { sku } = request.params;
      const { quantity, from, to } = request.body;
      const key = request.headers['idempotency-key'] as string;
      const result = await ctx.idempotency.run(`move:${sku}`, key, request.body, async () => {
        // One key, one move: the ledger records a move's outcome once per operation id, refusals included.
        await stock.moveState(`move-${keyDigest(`move:${sku}`, key)}`, sku, quantity, from, to);
        return { statusCode: 200, body: { sku, quantity, from, to } };
      });
      return reply.code(result.statusCode).header('idempotent-replayed', String(result.replayed)).send(result.body);
    },
  );
}
