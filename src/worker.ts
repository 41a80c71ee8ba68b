import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { loadConfig } from './config';
import { ensureSchema, ShardSet } from './db';
import { createLogger } from './logger';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly deps: ActivityDeps;
}

export function createWorker(options: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath,
    activities: createActivities(options.deps),
  });
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
  try {
    await ensureSchema(shards);
    const worker = await createWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      deps: { shards },
    });
    log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker running');
    await worker.run();
  } finally {
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
