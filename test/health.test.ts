import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../src/api/app';
import { loadConfig } from '../src/config';
import { ShardSet } from '../src/db';
import { createMetrics } from '../src/metrics';
import { StockService } from '../src/stock';
import { ensureFerretDbBinary, freePorts, startFerretDbShards } from '../src/infra';
import { connectTestShards } from './helpers';

describe('GET /livez, /readyz and /health', () => {
  let connection: Connection;
  let temporal: Client;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    temporal = new Client({ connection });
  });

  afterAll(async () => {
    await connection?.close();
  });

  const appOn = (shards: ShardSet) =>
    buildApp({
      shards,
      stock: new StockService(shards),
      temporal,
      metrics: createMetrics(),
      settings: {
        namespace: 'default',
        taskQueue: 'unused',
        opsToken: 'x',
        tokenSecret: 'y',
        holdTtlSeconds: 1,
        maxHoldSeconds: 1,
        maxLineQuantity: 1,
        rateLimitCartPerMinute: 10,
        rateLimitIpPerMinute: 10,
        bodyLimitBytes: 1024,
      },
    });

  it('answers 200 when Temporal and every shard answer, on /readyz and /health', async () => {
    const shards = await connectTestShards();
    const app = await appOn(shards);
    for (const url of ['/readyz', '/health']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok', temporal: true, shards: Array(shards.size).fill(true) });
    }
    await app.close();
    await shards.close();
  });

  it('answers 503 naming the shard that stopped answering', async () => {
    const config = loadConfig();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'holdfast-health-'));
    const extra = await startFerretDbShards({
      binary: await ensureFerretDbBinary(config.home, config.PATH),
      ports: await freePorts(1),
      dataDir: dir,
      logDir: dir,
    });
    const shards = await ShardSet.connect({
      uris: [inject('mongoUris')[0]!, ...extra.uris],
      stockDb: 'health',
      cartsDb: 'health_carts',
    });
    try {
      const app = await appOn(shards);
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

      await Promise.all(extra.procs.map((p) => p.stop()));
      for (const url of ['/readyz', '/health']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toEqual({ status: 'degraded', temporal: true, shards: [true, false] });
      }
      // Liveness checks no dependency: the process is up, so it must not be restarted for a shard's sake.
      const live = await app.inject({ method: 'GET', url: '/livez' });
      expect(live.statusCode).toBe(200);
      expect(live.json()).toEqual({ status: 'ok' });
      // A route that needs the stopped shard says so, as a 503 to retry: never a 500.
      const products = await app.inject({ method: 'GET', url: '/v1/products' });
      expect(products.statusCode, products.body).toBe(503);
      expect(products.headers['retry-after']).toBe('1');
      expect(products.json()).toMatchObject({ error: 'unavailable' });
      await app.close();
    } finally {
      await shards.close();
      await Promise.all(extra.procs.map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
