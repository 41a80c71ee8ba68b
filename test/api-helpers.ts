import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { buildApp, type ApiSettings } from '../src/api/app';
import { webRoot } from '../src/api/settings';
import type { ShardSet } from '../src/db';
import { createMetrics } from '../src/metrics';
import { StockService } from '../src/stock';
import { connectTestShards, uniqueId } from './helpers';
import { createTestWorker, type TestWorker } from './workflow-helpers';

export const opsToken = 'test-ops-token';

export interface TestApi {
  readonly app: FastifyInstance;
  readonly shards: ShardSet;
  readonly worker: TestWorker;
  readonly client: Client;
  close(): Promise<void>;
}

export interface ApiOptions {
  /**
   * The API reads and writes stock through a StockService of its own (its own head cache and leases), as it does
   * in a process apart from the worker's; by default it shares the worker's.
   */
  readonly ownStock?: boolean;
}

/**
 * The real API on the test run's dev server and FerretDB, with a worker on its own task queue running in
 * this process. `settings` overrides the defaults (rate limits, quantity bound...).
 */
export async function startTestApi(
  settings: Partial<ApiSettings> = {},
  { ownStock = false }: ApiOptions = {},
): Promise<TestApi> {
  const shards = await connectTestShards();
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const native = await NativeConnection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const worker = await createTestWorker({ client, nativeConnection: native }, shards);
  const running = worker.worker.run();
  const apiStock = ownStock ? new StockService(shards) : undefined;
  const app = await buildApp({
    shards,
    stock: apiStock ?? worker.stock,
    temporal: client,
    metrics: createMetrics(),
    settings: {
      namespace: 'default',
      taskQueue: worker.taskQueue,
      opsToken,
      tokenSecret: 'test-secret',
      holdTtlSeconds: 600,
      maxHoldSeconds: 3600,
      maxLineQuantity: 100,
      rateLimitCartPerMinute: 1000,
      rateLimitIpPerMinute: 100_000,
      bodyLimitBytes: 16_384,
      temporalUiUrl: 'http://127.0.0.1:8233',
      ...settings,
    },
    webRoot,
  });
  return {
    app,
    shards,
    worker,
    client,
    async close() {
      await app.close();
      await apiStock?.close();
      worker.worker.shutdown();
      await running;
      await native.close();
      await connection.close();
      await shards.close();
    },
  };
}

/** A product for `POST /v1/products`: strict, two buckets, five units at 1500 cents, unless overridden. */
export function productDefinition(sku: string, overrides: Record<string, unknown> = {}) {
  return { sku, name: `Widget ${sku}`, priceCents: 1500, quantity: 5, policy: 'strict', buckets: 2, ...overrides };
}

/** The test API of a describe block, `inject` for its requests, and ops' product creation. */
export type UsedTestApi = Omit<TestApi, 'close'> & {
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Creates a product (productDefinition with `overrides`) under a fresh SKU through the API; returns the SKU. */
  createProduct(overrides?: Record<string, unknown>): Promise<string>;
};

/**
 * For a describe block: the test API started before its tests and closed after them. Read its fields inside
 * tests (the API starts in beforeAll).
 */
export function useTestApi(settings: Partial<ApiSettings> = {}, options: ApiOptions = {}): UsedTestApi {
  let api: TestApi | undefined;
  beforeAll(async () => {
    api = await startTestApi(settings, options);
  });
  afterAll(async () => {
    await api?.close();
  });
  const started = (): TestApi => {
    if (!api) throw new Error('the test API starts in beforeAll: read it inside a test');
    return api;
  };
  return {
    get app() {
      return started().app;
    },
    get shards() {
      return started().shards;
    },
    get worker() {
      return started().worker;
    },
    get client() {
      return started().client;
    },
    inject: (options) => started().app.inject(options),
    async createProduct(overrides = {}) {
      const sku = uniqueId('sku');
      const res = await started().app.inject({
        method: 'POST',
        url: '/v1/products',
        headers: ops,
        payload: productDefinition(sku, overrides),
      });
      expect(res.statusCode, res.body).toBe(201);
      return sku;
    },
  };
}

export const ops = { authorization: `Bearer ${opsToken}` };
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
