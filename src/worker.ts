import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { LogLevel } from '@temporalio/common';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, FakePaymentGateway, type ActivityDeps } from './activities';
import { ConfigError, loadConfig, type Config } from './config';
import { collections, ensureSchema, ShardSet } from './db';
import { assertPortsFree, freePorts, SetupError } from './infra';
import { createMetrics, serveMetrics, type Metrics } from './metrics';
import { StockService } from './stock';
import { createLogger } from './logger';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly deps: ActivityDeps;
  /** WORKER_MAX_CACHED_WORKFLOWS: runs kept in memory (the SDK sizes it from the heap when left out). */
  readonly maxCachedWorkflows?: number;
  /** WORKFLOW_BUNDLE: a bundle built ahead (scripts/build-workflow-bundle.ts); else the sources are bundled. */
  readonly workflowBundlePath?: string;
  /** WORKER_WORKFLOW_TASK_SLOTS and WORKER_WORKFLOW_TASK_POLLERS (the SDK's defaults when left out). */
  readonly workflowTaskSlots?: number;
  readonly workflowTaskPollers?: number;
}

/** The worker settings of the configuration, for `createWorker` (the worker process and `npm start`). */
export function workerSettings(
  config: Pick<
    Config,
    'WORKER_MAX_CACHED_WORKFLOWS' | 'WORKFLOW_BUNDLE' | 'WORKER_WORKFLOW_TASK_SLOTS' | 'WORKER_WORKFLOW_TASK_POLLERS'
  >,
): Pick<WorkerOptions, 'maxCachedWorkflows' | 'workflowBundlePath' | 'workflowTaskSlots' | 'workflowTaskPollers'> {
  return {
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    ...(config.WORKFLOW_BUNDLE ? { workflowBundlePath: config.WORKFLOW_BUNDLE } : {}),
    ...(config.WORKER_WORKFLOW_TASK_SLOTS ? { workflowTaskSlots: config.WORKER_WORKFLOW_TASK_SLOTS } : {}),
    ...(config.WORKER_WORKFLOW_TASK_POLLERS ? { workflowTaskPollers: config.WORKER_WORKFLOW_TASK_POLLERS } : {}),
  };
}

export function createWorker(options: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.deps.taskQueue,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath }),
    activities: createActivities(options.deps),
    shutdownGraceTime: '10 seconds',
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
    ...(options.workflowTaskSlots === undefined
      ? {}
      : { maxConcurrentWorkflowTaskExecutions: options.workflowTaskSlots }),
    ...(options.workflowTaskPollers === undefined
      ? {}
      : { maxConcurrentWorkflowTaskPolls: options.workflowTaskPollers }),
  });
}

/** The worker's dependencies: the stock ledger, the payment provider (the built-in fake) and a client. */
export function activityDeps(
  shards: ShardSet,
  temporal: Client,
  taskQueue: string,
  metrics: Metrics = createMetrics(),
): ActivityDeps {
  return {
    shards,
    metrics,
    stock: new StockService(shards),
    payments: new FakePaymentGateway(shards.cartsDb(0).collection(collections.carts.gateway)),
    temporal,
    taskQueue,
  };
}

const sdkLevels: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' };
const pinoLevels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * Installs the Temporal SDK's runtime for this process (once, before any connection): the SDK's logs, its
 * native core's included, go through `log` (pino), and its metrics to a Prometheus exporter on a free loopback
 * port. Returns that exporter's URL, for createMetrics({ sdkMetricsUrl }).
 */
export async function installWorkerRuntime(
  log: Logger,
  options: { shutdownSignals?: NodeJS.Signals[] } = {},
): Promise<string> {
  const [port] = await freePorts(1);
  const level = sdkLevels[log.level] ?? 'ERROR';
  Runtime.install({
    ...options,
    logger: new DefaultLogger(level, ({ level, message, meta }) => log[pinoLevels[level]](meta ?? {}, message)),
    telemetryOptions: {
      // The core logs a line per poll at INFO: it gets WARN unless LOG_LEVEL asks for debug or trace.
      logging: {
        filter: makeTelemetryFilterString({ core: level === 'INFO' ? 'WARN' : level, other: 'ERROR' }),
        forward: {},
      },
      metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } },
    },
  });
  return `http://127.0.0.1:${port}/metrics`;
}

/** `npm run worker`: a worker process against external servers (TEMPORAL_ADDRESS, MONGODB_URI). */
async function run() {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  if (!config.TEMPORAL_ADDRESS || config.mongoUris.length === 0) {
    throw new ConfigError('npm run worker needs TEMPORAL_ADDRESS and MONGODB_URI; npm start runs the embedded stack');
  }
  const { WORKER_METRICS_HOST: metricsHost, WORKER_METRICS_PORT: metricsPort } = config;
  await assertPortsFree([
    { host: metricsHost, port: metricsPort, what: 'the worker metrics', envVar: 'WORKER_METRICS_PORT' },
  ]);
  const metrics = createMetrics({ sdkMetricsUrl: await installWorkerRuntime(log.child({ component: 'temporal' })) });
  const metricsServer = await serveMetrics(metrics.registry, metricsHost, metricsPort);
  const shards = await ShardSet.connect({
    uris: config.mongoUris,
    stockDb: config.STOCK_DB,
    cartsDb: config.CARTS_DB,
    log,
  });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await ensureSchema(shards);
    const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
    const deps = activityDeps(shards, client, config.TEMPORAL_TASK_QUEUE, metrics);
    const worker = await createWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      deps,
      ...workerSettings(config),
    });
    log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, metrics: metricsServer.url }, 'worker running');
    try {
      await worker.run();
    } finally {
      await deps.stock.close(); // gives this writer's bucket leases up at once
    }
  } finally {
    await metricsServer.close();
    await clientConnection.close();
    await connection.close();
    await shards.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().catch((err: unknown) => {
    // Setup and configuration errors are sentences for the operator; anything else needs its stack.
    console.error(err instanceof SetupError || err instanceof ConfigError ? `holdfast: ${err.message}` : err);
    process.exit(1);
  });
}
