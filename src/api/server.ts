/** `npm run api`: the API process against external servers (TEMPORAL_ADDRESS, MONGODB_URI). */
import { Client, Connection } from '@temporalio/client';
import { assertApiSecrets, loadConfig } from '../config';
import { ensureSchema, ShardSet } from '../db';
import { createLogger } from '../logger';
import { createMetrics } from '../metrics';
import { StockService } from '../stock';
import { buildApp } from './app';
import { apiSettings, webRoot } from './settings';

async function run() {
  const config = loadConfig();
  assertApiSecrets(config);
  const log = createLogger(config.LOG_LEVEL, 'api');
  if (!config.TEMPORAL_ADDRESS || config.mongoUris.length === 0) {
    throw new Error('npm run api needs TEMPORAL_ADDRESS and MONGODB_URI; npm start runs the embedded stack');
  }
  const shards = await ShardSet.connect({
    uris: config.mongoUris,
    stockDb: config.STOCK_DB,
    cartsDb: config.CARTS_DB,
    log,
  });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const stock = new StockService(shards);
  try {
    await ensureSchema(shards);
    const app = await buildApp({
      shards,
      stock,
      temporal: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }),
      metrics: createMetrics(),
      settings: apiSettings(config, config.TEMPORAL_UI_URL),
      logger: log,
      webRoot,
    });
    await app.listen({ host: config.API_HOST, port: config.API_PORT });
    if (config.opsTokenSource === 'kept') log.info({ file: config.secretsFile }, 'ops token kept in HOLDFAST_HOME');
    if (config.opsTokenSource === 'process') {
      log.warn('HOLDFAST_OPS_TOKEN is not set: a token was generated for this process');
    }
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    await app.close();
  } finally {
    await stock.close();
    await connection.close();
    await shards.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
