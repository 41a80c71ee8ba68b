/**
 * The flash sale's Temporal floor, run as its own process by bench/lib/floor.ts: a Fastify server whose
 * `POST /floor` does what add-to-cart does to Temporal — update-with-start of a workflow of the hold workflow's
 * shape, which keeps a timer when `hold` and ends at once otherwise — with no stock work, and a worker for it in the same process (as `src/main.ts` runs the API and the
 * worker together). Usage: floor-server.ts --temporal host:port --namespace ns --port n --ttl seconds
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import Fastify from 'fastify';
import { floorUpdate } from './floor-workflow';

const workflowsPath = fileURLToPath(new URL('./floor-workflow.ts', import.meta.url));

export const floorTaskQueue = 'floor';

async function run() {
  const { values } = parseArgs({
    options: {
      temporal: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      port: { type: 'string' },
      ttl: { type: 'string' },
    },
  });
  const address = values.temporal;
  const port = Number(values.port);
  const ttlSeconds = Number(values.ttl);
  if (!address || !(port > 0) || !(ttlSeconds > 0)) throw new Error('usage: --temporal ADDR --port N --ttl SECONDS');
  const { namespace } = values;
  // This process owns shutdown order, as main.ts does.
  Runtime.install({ shutdownSignals: [] });

  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace,
      taskQueue: floorTaskQueue,
      workflowsPath,
    });
    const workerRun = worker.run();
    const app = Fastify({
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
      genReqId: () => crypto.randomUUID(),
    });
    app.get('/health', async () => ({ status: 'ok' }));
    app.post<{ Body: { key: string; hold: boolean } }>(
      '/floor',
      {
        schema: {
          body: {
            type: 'object',
            required: ['key', 'hold'],
            additionalProperties: false,
            properties: { key: { type: 'string', minLength: 1, maxLength: 128 }, hold: { type: 'boolean' } },
          },
          response: {
            200: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
          },
        },
      },
      async (request) =>
        client.workflow.executeUpdateWithStart(floorUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation('floorWorkflow', {
            workflowId: `floor-${request.body.key}`,
            taskQueue: floorTaskQueue,
            args: [{ ttlSeconds, hold: request.body.hold }],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        }),
    );
    await app.listen({ host: '127.0.0.1', port });
    try {
      await new Promise<void>((resolve, reject) => {
        workerRun.catch(reject);
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
    } finally {
      await app.close();
      worker.shutdown();
      await workerRun;
    }
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
