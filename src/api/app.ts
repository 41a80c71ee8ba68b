import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { ShardSet } from '../db';
import type { Metrics } from '../metrics';
import type { StockService } from '../stock';
import { errorHandler, HttpError } from './errors';
import { IdempotencyStore } from './idempotency';
import { cartRoutes } from './routes/carts';
import { opsRoutes } from './routes/ops';
import { productRoutes } from './routes/products';
import { sameSecret, CartTokens } from './tokens';

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

/** What every route module gets. */
export interface RouteContext extends AppDeps {
  readonly tokens: CartTokens;
  readonly idempotency: IdempotencyStore;
  /** 401 without a bearer token, 403 when it is not this cart's. Runs onRequest: before body validation. */
  requireCart(request: FastifyRequest<{ Params: { cartId: string } }>): Promise<void>;
  /** The cart a request's bearer token is for: 401 without a token or with one that is not ours. */
  cartOf(request: FastifyRequest): string;
  requireOps(request: FastifyRequest): Promise<void>;
  /** The Web UI page of a workflow (of one of its runs, when `runId` is given: a cart's checkouts share an id). */
  runUrl(workflowId: string, runId?: string): string | undefined;
}

const healthResponse = {
  type: 'object',
  required: ['status', 'temporal', 'shards'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    temporal: { type: 'boolean' },
    shards: { type: 'array', items: { type: 'boolean' } },
  },
} as const;

function bearer(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header?.startsWith('Bearer ')) throw new HttpError(401, 'unauthorized', 'a bearer token is required');
  return header.slice('Bearer '.length).trim();
}

/** Builds the HTTP API; `server.ts` and `main.ts` own the process (listen, graceful close). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { settings } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : {}),
    bodyLimit: settings.bodyLimitBytes,
    // Unknown fields are an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    genReqId: () => crypto.randomUUID(),
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url}`, requestId: request.id }),
  );

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'holdfast', version: '0.1.0', description: 'Durable stock holds and checkout for limited stock.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(fastifyRateLimit, {
    global: true,
    max: settings.rateLimitIpPerMinute,
    timeWindow: 60_000,
    errorResponseBuilder: (request, context) => ({
      statusCode: 429,
      error: 'rate_limited',
      message: `more than ${context.max} requests in ${context.after}`,
      requestId: request.id,
    }),
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
  const context: RouteContext = {
    ...deps,
    tokens,
    idempotency: new IdempotencyStore(deps.shards),
    cartOf(request) {
      const cartId = tokens.verify(bearer(request));
      if (cartId === undefined) throw new HttpError(401, 'unauthorized', 'invalid token');
      return cartId;
    },
    async requireCart(request) {
      if (context.cartOf(request) !== request.params.cartId)
        throw new HttpError(403, 'forbidden', 'this token is for another cart');
      const limit = await cartLimit(request);
      if (!limit.isAllowed && limit.isExceeded)
        throw new HttpError(429, 'rate_limited', 'too many requests for this cart');
    },
    async requireOps(request) {
      if (!sameSecret(bearer(request), settings.opsToken)) {
        throw new HttpError(403, 'forbidden', 'ops routes need the ops token');
      }
    },
    runUrl: (workflowId, runId) =>
      settings.temporalUiUrl
        ? `${settings.temporalUiUrl}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(workflowId)}${
            runId ? `/${encodeURIComponent(runId)}` : ''
          }`
        : undefined,
  };

  app.get('/health', { schema: { response: { 200: healthResponse, 503: healthResponse } } }, async (_req, reply) => {
    const [temporal, shards] = await Promise.all([temporalAnswers(deps.temporal), deps.shards.ping()]);
    const ok = temporal && shards.every(Boolean);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', temporal, shards });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  await app.register(
    async (v1) => {
      await cartRoutes(v1, context);
      await productRoutes(v1, context);
      await opsRoutes(v1, context);
    },
    { prefix: '/v1' },
  );

  if (deps.webRoot && existsSync(deps.webRoot)) {
    await app.register(fastifyStatic, { root: deps.webRoot, prefix: '/', index: 'index.html' });
  }
  return app;
}

async function temporalAnswers(client: Client): Promise<boolean> {
  try {
    const { connection } = client;
    await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}
