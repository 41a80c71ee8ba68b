import { bucketsFor, ProductConflictError, type ProductDoc, type ProductInput } from '../../stock';
import { backorderQueueQuery } from '../../contract/messages';
import { routesThroughQueue } from '../../contract/stock-routing';
import { workflowIds } from '../../contract/workflow-ids';
import {
  CreateProductBody,
  described,
  errorResponses,
  locationHeader,
  ProductList,
  ProductView,
  ref,
  replayedHeader,
  SkuParams,
} from '../../contract/http';
import type { HttpApp, RouteContext } from '../app';
import { IdempotencyKeyReusedError } from '../idempotency';

/** The catalog with live stock (public), and creating a product (ops). */
export async function productRoutes(app: HttpApp, ctx: RouteContext) {
  const { stock, temporal } = ctx;
  const security = [{ bearer: [] }];

  /** Units the SKU's queue waits for: its backorders, or its waitlist. */
  async function backordered(product: ProductDoc): Promise<number> {
    if (!routesThroughQueue(product)) return 0;
    try {
      const queue = await temporal.workflow.getHandle(workflowIds.backorders(product.sku)).query(backorderQueueQuery);
      return queue.waiting.reduce((sum, e) => sum + e.quantity, 0);
    } catch {
      return 0; // no queue yet: nobody waits
    }
  }

  async function view(product: ProductDoc): Promise<ProductView> {
    const [summary, waiting] = await Promise.all([stock.summary(product.sku), backordered(product)]);
    return {
      sku: product.sku,
      name: product.name,
      priceCents: product.priceCents,
      policy: product.policy,
      available: summary.available,
      reserved: summary.held,
      sold: summary.sold,
      backordered: product.policy === 'backorder' ? waiting : 0,
      ...(product.offerSeconds !== undefined ? { waitlisted: waiting, offerSeconds: product.offerSeconds } : {}),
      incoming: summary.incoming,
      nonSellable: summary.nonSellable,
      lowStockThreshold: product.lowStockThreshold,
      reorderQuantity: product.reorderQuantity,
      buckets: product.buckets,
      ...(product.admitPerSecond !== undefined ? { admitPerSecond: product.admitPerSecond } : {}),
      ...(product.maxPerCustomer !== undefined ? { maxPerCustomer: product.maxPerCustomer } : {}),
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
          200: described(ProductList, 'Every product'),
          ...errorResponses(429, 500),
        },
      },
    },
    async () => ({ products: await Promise.all((await stock.listProducts()).map(view)) }),
  );

  app.get(
    '/products/:sku',
    {
      schema: {
        operationId: 'getProduct',
        tags: ['products'],
        summary: 'One product with live availability',
        params: SkuParams,
        response: { 200: ref(ProductView, 'The product'), ...errorResponses(400, 404, 429, 500) },
      },
    },
    async (request) => view(await stock.product(request.params.sku)),
  );

  app.post(
    '/products',
    {
      schema: {
        operationId: 'createProduct',
        tags: ['products'],
        summary: 'Create a product and receive its initial stock (ops)',
        security,
        body: CreateProductBody,
        // 201 the first time; the same definition again replays that answer (201, idempotent-replayed: true).
        response: {
          201: ref(ProductView, 'The product, with its initial stock', { ...locationHeader, ...replayedHeader }),
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
        buckets: given.buckets ?? bucketsFor(quantity, ctx.shards.size),
        lowStockThreshold: given.lowStockThreshold ?? 0,
        reorderQuantity: given.reorderQuantity ?? 0,
        ...(given.admitPerSecond !== undefined ? { admitPerSecond: given.admitPerSecond } : {}),
        ...(given.maxPerCustomer !== undefined ? { maxPerCustomer: given.maxPerCustomer } : {}),
        ...(given.offerSeconds !== undefined ? { offerSeconds: given.offerSeconds } : {}),
      };
      try {
        const result = await ctx.idempotency.run('product', input.sku, { ...input, quantity }, async () => ({
          statusCode: 201 as const,
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
}
