/**
 * `npm start`: the whole stack on one machine. Starts the servers that are not external (Temporal dev server
 * with its Web UI, FerretDB shards), a worker and the API; on Ctrl-C or SIGTERM stops everything it started.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { buildApp } from './api/app';
import { apiSettings, webRoot } from './api/settings';
import { createMetrics } from './metrics';
import { assertApiSecrets, ConfigError, loadConfig } from './config';
import { ensureSchema, ShardSet } from './db';
import { homePaths, SetupError, startStack } from './infra';
import { createLogger } from './logger';
import { activityDeps, createWorker, installWorkerRuntime, workerSettings } from './worker';

async function run() {
  const config = loadConfig();
  assertApiSecrets(config);
  const log = createLogger(config.LOG_LEVEL);
  // This process owns shutdown order (API, worker, connections, servers), so the SDK must not act on signals.
  const sdkMetricsUrl = await installWorkerRuntime(log.child({ component: 'temporal' }), { shutdownSignals: [] });

  log.info('starting servers (the first start installs Temporal CLI and builds FerretDB; later starts reuse them)');
  const stack = await startStack(config, {
    otherPorts: [{ host: config.API_HOST, port: config.API_PORT, what: 'the API', envVar: 'API_PORT' }],
  });
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
      log,
    });
    cleanups.push(() => shards.close());
    await ensureSchema(shards);

    const nativeConnection = await NativeConnection.connect({ address: stack.temporalAddress });
    cleanups.push(() => nativeConnection.close());
    const connection = await Connection.connect({ address: stack.temporalAddress });
    cleanups.push(() => connection.close());

    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    // One registry: the API's /metrics shows the worker's counters and the Temporal SDK's metrics too.
    const metrics = createMetrics({ sdkMetricsUrl });
    const deps = activityDeps(shards, client, config.TEMPORAL_TASK_QUEUE, metrics);
    // Give this writer's bucket leases up at once, after the worker stopped taking stock.
    cleanups.push(() => deps.stock.close());
    const worker = await createWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      deps,
      ...workerSettings(config),
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
    console.log(`\n  API               ${apiUrl}   (health: ${apiUrl}/health, metrics: ${apiUrl}/metrics)`);
    if (stack.temporalUiUrl) console.log(`  Temporal Web UI   ${stack.temporalUiUrl}`);
    console.log(`  Temporal          ${stack.temporalAddress}   namespace ${config.TEMPORAL_NAMESPACE}`);
    console.log(`  MongoDB shards    ${stack.mongoUris.join('  ')}`);
    if (config.opsTokenSource === 'kept') {
      console.log(`  Ops token         ${config.opsToken}   (kept in ${config.secretsFile}; the CLI finds it there)`);
    } else if (config.opsTokenSource === 'process') {
      console.log(`  Ops token         ${config.opsToken}   (this process only: set HOLDFAST_OPS_TOKEN)`);
    }
    if (stack.started.length > 0) console.log(`  Server logs       ${homePaths(config.home).logs}`);
    console.log(
      '\n  Ctrl-C stops everything. A demo catalogue: npx holdfast seed. To start empty: stop, npx holdfast reset.\n',
    );

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
    // Setup and configuration errors (a busy port, a missing Go) are sentences for the operator.
    console.error(err instanceof SetupError || err instanceof ConfigError ? `holdfast: ${err.message}` : err);
    process.exit(1);
  },
);
