import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, FakePaymentGateway, type ActivityDeps } from './activities';
import { loadConfig } from './config';
import { collections, ensureSchema, ShardSet } from './db';
import { createMetrics, type Metrics } from './metrics';
import { StockService } from './stock';
import { createLogger } from './logger';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly deps: ActivityDeps;
  /** WORKER_MAX_CACHED_WORKFLOWS: runs kept in memory (the SDK sizes it from the heap when left out). */
  readonly maxCachedWorkflows?: number;
}

export function createWorker(options: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.deps.taskQueue,
    workflowsPath,
    activities: createActivities(options.deps),
    shutdownGraceTime: '10 seconds',
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
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

/** `npm run worker`: a worker process against external servers (TEMPORAL_ADDRESS, MONGODB_URI). */
async function run() {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  if (!config.TEMPORAL_ADDRESS || config.mongoUris.length === 0) {
    throw new Error('npm run worker needs TEMPORAL_ADDRESS and MONGODB_URI; npm start runs the embedded stack');
  }
  const shards = await ShardSet.connect({ uris: config.mongoUris, stockDb: config.STOCK_DB, cartsDb: config.CARTS_DB });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await ensureSchema(shards);
    const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
    const worker = await createWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      deps: activityDeps(shards, client, config.TEMPORAL_TASK_QUEUE),
      maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    });
    log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker running');
    await worker.run();
  } finally {
    await clientConnection.close();
    await connection.close();
    await shards.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
