import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { WaitingRoom } from '../admission';
import type { ShardSet } from '../db';
import type { Metrics } from '../metrics';
import type { StockService } from '../stock';
import { errorHandler, HttpError, invalidTokenChallenge } from './errors';
import { IdempotencyStore } from './idempotency';
import { optionalNullableBodies } from './optional-bodies';
import { maxParamLength, sharedSchemas } from '../contract/http';
import { backorderRoutes } from './routes/backorders';
import { cartLineRoutes } from './routes/cart-lines';
import { cartRoutes } from './routes/carts';
import { checkoutRoutes } from './routes/checkout';
import { healthRoutes } from './routes/health';
import { opsRoutes } from './routes/ops';
import { orderRoutes } from './routes/orders';
import { productRoutes } from './routes/products';
import { reorderRoutes } from './routes/reorders';
import { stockMovementRoutes } from './routes/stock-movements';
import { webhookRoutes } from './routes/webhooks';
import { sameSecret, CartTokens, type CartClaim } from './tokens';

/** How often an API process sweeps expired Idempotency-Key answers (see IdempotencyStore.sweep). */
const idempotencySweepMs = 10 * 60_000;

export interface ApiSettings {
  readonly namespace: string;
  readonly taskQueue: string;
  readonly opsToken: string;
  readonly tokenSecret: string;
  readonly holdTtlSeconds: number;
  readonly maxHoldSeconds: number;
  readonly maxLineQuantity: number;
  readonly rateLimitCartPerMinute: number;
  readonly rateLimitIpPerMinute: number;
  readonly bodyLimitBytes: number;
  /** The Temporal Web UI, for links to runs. */
  readonly temporalUiUrl?: string;
}

export interface AppDeps {
  readonly shards: ShardSet;
  readonly stock: StockService;
  readonly temporal: Client;
  readonly metrics: Metrics;
  readonly settings: ApiSettings;
  /** The request logger; omit for a silent app (tests). */
  readonly logger?: FastifyBaseLogger;
  /** The built storefront and ops console (web/dist), served at / when present. */
  readonly webRoot?: string;
}

/** The app as the route modules see it: every route's request and reply types come from its schemas. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What every route module gets. */
export interface RouteContext extends AppDeps {
  readonly tokens: CartTokens;
  readonly idempotency: IdempotencyStore;
  /** Drops' waiting rooms: who is let through to the stock, in arrival order. */
  readonly waitingRoom: WaitingRoom;
  /** 401 without a bearer token, 403 when it is not this cart's. Runs onRequest: before body validation. */
  requireCart(request: FastifyRequest): Promise<void>;
  /** The cart a request's bearer token is for: 401 without a token or with one that is not ours. */
  cartOf(request: FastifyRequest): string;
  /** The cart and its customer (bound at creation) a request's bearer token is for; 401 like cartOf. */
  claimOf(request: FastifyRequest): CartClaim;
  requireOps(request: FastifyRequest): Promise<void>;
  /** The Web UI page of a workflow (of one of its runs, when `runId` is given: a cart's checkouts share an id). */
  runUrl(workflowId: string, runId?: string): string | undefined;
}

function bearer(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header?.startsWith('Bearer ')) throw new HttpError('unauthorized', 'a bearer token is required');
  return header.slice('Bearer '.length).trim();
}

const tags = [
  { name: 'carts', description: "A shopper's cart: its token, its lines (each a stock hold) and checkout" },
  { name: 'orders', description: 'Orders, as their checkout saga leaves them' },
  { name: 'products', description: "The catalog with live stock, and ops' stock movements" },
  { name: 'backorders', description: "A backorder product's queue of waiting lines (ops)" },
  { name: 'reorders', description: 'Low-stock reorders awaiting a decision or a delivery (ops)' },
  { name: 'ops', description: 'Overview and checks of the whole store (ops)' },
  { name: 'webhooks', description: "Signed webhooks of the store's domain events, and their deliveries (ops)" },
  { name: 'health', description: 'Liveness, readiness and Prometheus metrics' },
];

/** Builds the HTTP API; `server.ts` and `main.ts` own the process (listen, graceful close). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { settings } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : {}),
    bodyLimit: settings.bodyLimitBytes,
    routerOptions: { maxParamLength },
    // Unknown fields are an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    genReqId: () => crypto.randomUUID(),
    // A malformed or overlong URL gets the same error body as everything else.
    frameworkErrors: errorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    errorHandler(new HttpError('not_found', `no route ${request.method} ${request.url}`), request, reply),
  );
  for (const schema of sharedSchemas) app.addSchema(schema);
  // Bodies are JSON, anything else is 415. `content-type: application/json` with no body is no body (a bodiless
  // POST from a client that always sets the header); the rest is parsed as Fastify does, prototype-poisoning
  // checks included.
  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, undefined) : parseJson(request, body as string, done),
  );

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'holdfast', version: '0.1.0', description: 'Durable stock holds and checkout for limited stock.' },
      tags,
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    // Shared schemas are components named by their $id (#/components/schemas/Error), not def-<n>.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      optionalNullableBodies(document.openapiObject);
      return document.openapiObject;
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(fastifyRateLimit, {
    global: true,
    max: settings.rateLimitIpPerMinute,
    timeWindow: 60_000,
    // Thrown to the error handler; the plugin has set Retry-After by then.
    errorResponseBuilder: (_request, context) =>
      new HttpError('rate_limited', `more than ${context.max} requests in ${context.after}`),
  });

  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.requestDuration
      .labels(request.method, request.routeOptions.url ?? 'unknown', String(reply.statusCode))
      .observe(reply.elapsedTime / 1000);
  });

  const tokens = new CartTokens(settings.tokenSecret);
  const cartLimit = app.createRateLimit({
    max: settings.rateLimitCartPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `cart:${(request.params as { cartId?: string }).cartId}`,
  });
  // A request's token is verified once (requireCart, then the route asks for its customer): the claim is kept.
  const claims = new WeakMap<FastifyRequest, CartClaim>();
  const context: RouteContext = {
    ...deps,
    tokens,
    idempotency: new IdempotencyStore(deps.shards),
    waitingRoom: new WaitingRoom(deps.shards),
    cartOf(request) {
      return context.claimOf(request).cartId;
    },
    claimOf(request) {
      const kept = claims.get(request);
      if (kept) return kept;
      const claim = tokens.claim(bearer(request));
      if (claim === undefined) {
        throw new HttpError('unauthorized', 'invalid token', {}, { 'www-authenticate': invalidTokenChallenge });
      }
      claims.set(request, claim);
      return claim;
    },
    async requireCart(request) {
      if (context.cartOf(request) !== (request.params as { cartId: string }).cartId)
        throw new HttpError('forbidden', 'this token is for another cart');
      const limit = await cartLimit(request);
      if (!limit.isAllowed && limit.isExceeded) {
        const retryAfter = { 'retry-after': String(limit.ttlInSeconds) };
        throw new HttpError('rate_limited', 'too many requests for this cart', {}, retryAfter);
      }
    },
    async requireOps(request) {
      if (!sameSecret(bearer(request), settings.opsToken)) {
        throw new HttpError('forbidden', 'ops routes need the ops token');
      }
    },
    runUrl: (workflowId, runId) =>
      settings.temporalUiUrl
        ? `${settings.temporalUiUrl}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(workflowId)}${
            runId ? `/${encodeURIComponent(runId)}` : ''
          }`
        : undefined,
  };

  // Kept answers older than their retention go, where no TTL index removes them (FerretDB). A failed sweep is
  // logged and tried again at the next.
  const sweeps = setInterval(() => {
    context.idempotency.sweep().catch((err: unknown) => app.log.warn({ err }, 'idempotency sweep failed'));
  }, idempotencySweepMs).unref();
  app.addHook('onClose', async () => clearInterval(sweeps));

  await healthRoutes(app, deps);

  await app.register(
    async (v1) => {
      await cartRoutes(v1, context);
      await cartLineRoutes(v1, context);
      await checkoutRoutes(v1, context);
      await orderRoutes(v1, context);
      await productRoutes(v1, context);
      await stockMovementRoutes(v1, context);
      await backorderRoutes(v1, context);
      await reorderRoutes(v1, context);
      await opsRoutes(v1, context);
      await webhookRoutes(v1, context);
    },
    { prefix: '/v1' },
  );

  if (deps.webRoot && existsSync(deps.webRoot)) {
    await app.register(fastifyStatic, { root: deps.webRoot, prefix: '/', index: 'index.html' });
  }
  return app;
}
