import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { MovableState, ProductDoc, StockPolicy } from '../../stock';
import { backorderQueueQuery, restockSignal } from '../../workflows/messages';
import { workflowIds } from '../../workflows/workflow-ids';
import type { RouteContext } from '../app';
import { keyDigest } from '../idempotency';
import { errorSchema, idempotencyKeySchema, productViewSchema, skuSchema, stateSchema } from '../schemas';

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
const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };

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
        summary: 'Products with live availability',
        response: {
          200: { type: 'object', properties: { products: { type: 'array', items: productViewSchema } } },
        },
      },
    },
    async () => ({ products: await Promise.all((await stock.listProducts()).map(view)) }),
  );

  app.get<{ Params: SkuParams }>(
    '/products/:sku',
    {
      schema: {
        summary: 'One product with live availability',
        params: skuParams,
        response: { 200: productViewSchema, ...errors },
      },
    },
    async (request) => view(await stock.product(request.params.sku)),
  );

  app.post<{ Body: ProductBody }>(
    '/products',
    {
      schema: {
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
        response: { 201: productViewSchema, ...errors },
      },
      onRequest: ctx.requireOps,
    },
    async (request, reply) => {
      const body = request.body;
      const product = await stock.createProduct(
        {
          sku: body.sku,
          name: body.name,
          priceCents: body.priceCents,
          policy: body.policy,
          buckets: body.buckets ?? 8,
          lowStockThreshold: body.lowStockThreshold ?? 0,
          reorderQuantity: body.reorderQuantity ?? 0,
        },
        body.quantity,
      );
      return reply.code(201).send(await view(product));
    },
  );

  app.post<{ Params: SkuParams; Body: { quantity: number } }>(
    '/products/:sku/restock',
    {
      schema: {
        summary: 'Receive new units (backorder products fill waiting backorders first) (ops)',
        security,
        params: skuParams,
        headers: { type: 'object', properties: { 'idempotency-key': idempotencyKeySchema } },
        body: { type: 'object', required: ['quantity'], additionalProperties: false, properties: { quantity: units } },
        response: {
          202: {
            type: 'object',
            properties: { sku: { type: 'string' }, quantity: { type: 'integer' }, opId: { type: 'string' } },
          },
          ...errors,
        },
      },
      onRequest: ctx.requireOps,
    },
    async (request, reply) => {
      const { sku } = request.params;
      const product = await stock.product(sku);
      const key = request.headers['idempotency-key'] as string | undefined;
      const opId = `restock-${key ? keyDigest(`restock:${sku}`, key) : randomUUID()}`;
      const { quantity } = request.body;
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
      return reply.code(202).send({ sku, quantity, opId });
    },
  );

  app.post<{ Params: SkuParams; Body: { quantity: number; from: MovableState; to: MovableState } }>(
    '/products/:sku/moves',
    {
      schema: {
        summary: 'Move units between available and the non-sellable states (ops)',
        security,
        params: skuParams,
        headers: { type: 'object', properties: { 'idempotency-key': idempotencyKeySchema } },
        body: {
          type: 'object',
          required: ['quantity', 'from', 'to'],
          additionalProperties: false,
          properties: { quantity: units, from: stateSchema, to: stateSchema },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              sku: { type: 'string' },
              quantity: { type: 'integer' },
              from: { type: 'string' },
              to: { type: 'string' },
            },
          },
          ...errors,
        },
      },
      onRequest: ctx.requireOps,
    },
    async (request) => {
      const { sku } = request.params;
      const { quantity, from, to } = request.body;
      const key = request.headers['idempotency-key'] as string | undefined;
      await stock.moveState(`move-${key ? keyDigest(`move:${sku}`, key) : randomUUID()}`, sku, quantity, from, to);
      return { sku, quantity, from, to };
    },
  );
}
