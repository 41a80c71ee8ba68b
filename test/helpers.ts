import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { ensureSchema, ShardSet } from '../src/db';

/** A unique suffix for ids, task queues and database names, so tests never see each other's data. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Connects to the test run's shards with fresh stock and carts databases, schema in place. */
export async function connectTestShards(): Promise<ShardSet> {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 12);
  const shards = await ShardSet.connect({
    uris: inject('mongoUris'),
    stockDb: `t_stock_${suffix}`,
    cartsDb: `t_carts_${suffix}`,
  });
  await ensureSchema(shards);
  return shards;
}
