/**
 * `npm start`: the whole stack on one machine. Starts the servers that are not external (Temporal dev server
 * with its Web UI, FerretDB shards), a worker and the API; on Ctrl-C or SIGTERM stops everything it started.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { buildApp } from './api/app';
import { apiSettings, webRoot } from './api/settings';
import { createMetrics } from './metrics';
import { assertApiSecrets, loadConfig } from './config';
import { ensureSchema, ShardSet } from './db';
import { startStack } from './infra';
import { createLogger } from './logger';
import { activityDeps, createWorker } from './worker';

async function run() {
  const config = loadConfig();
  assertApiSecrets(config);
  const log = createLogger(config.LOG_LEVEL);
  // This process owns shutdown order (API, worker, connections, servers), so the SDK must not act on signals.
  Runtime.install({ shutdownSignals: [] });

  log.info('starting servers (the first start installs Temporal CLI and builds FerretDB; later starts reuse them)');
  const stack = await startStack(config);
  const cleanups: (() => Promise<unknown>)[] = [() => stack.stop()];
  const shutdown = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log.error({ err }, 'error during shutdown');
      }
    }
  };

  try {
    const shards = await ShardSet.connect({
      uris: stack.mongoUris,
      stockDb: config.STOCK_DB,
      cartsDb: config.CARTS_DB,
    });
    cleanups.push(() => shards.close());
    await ensureSchema(shards);

    const nativeConnection = await NativeConnection.connect({ address: stack.temporalAddress });
    cleanups.push(() => nativeConnection.close());
    const connection = await Connection.connect({ address: stack.temporalAddress });
    cleanups.push(() => connection.close());

    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const metrics = createMetrics();
    const deps = activityDeps(shards, client, config.TEMPORAL_TASK_QUEUE, metrics);
    const worker = await createWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      deps,
      maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    });
    const workerRun = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await workerRun;
    });

    const app = await buildApp({
      shards,
      stock: deps.stock,
      temporal: client,
      metrics,
      settings: apiSettings(config, stack.temporalUiUrl),
      logger: log.child({ component: 'api' }),
      webRoot,
    });
    await app.listen({ host: config.API_HOST, port: config.API_PORT });
    cleanups.push(() => app.close());

    const apiUrl = `http://${config.API_HOST}:${config.API_PORT}`;
    log.info({ started: stack.started }, 'holdfast is running');
    console.log(`\n  API               ${apiUrl}   (health: ${apiUrl}/health)`);
    if (stack.temporalUiUrl) console.log(`  Temporal Web UI   ${stack.temporalUiUrl}`);
    console.log(`  Temporal          ${stack.temporalAddress}   namespace ${config.TEMPORAL_NAMESPACE}`);
    console.log(`  MongoDB shards    ${stack.mongoUris.join('  ')}`);
    if (config.opsTokenGenerated)
      console.log(`  Ops token         ${config.opsToken}   (set HOLDFAST_OPS_TOKEN to fix it)`);
    console.log('\n  Ctrl-C stops everything.\n');

    await new Promise<void>((resolve, reject) => {
      workerRun.catch(reject);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    log.info('shutting down');
  } finally {
    await shutdown();
  }
}

run().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
