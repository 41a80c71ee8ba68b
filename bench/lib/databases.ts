import { randomBytes } from 'node:crypto';
import { MongoClient, type Collection } from 'mongodb';
import { collections, ensureSchema, ShardSet } from '../../src/db';
import type { CartLine } from './seed-baseline';

/** Fresh databases for one bench run, so no run sees another's data. */
export interface BenchDatabases {
  readonly shards: ShardSet;
  /** The seed baseline's cart lines: one collection on the first shard, as the shop has it today. */
  readonly cartLines: Collection<CartLine>;
  /** Drops every database this run created. */
  drop(): Promise<void>;
  close(): Promise<void>;
}

export async function openBenchDatabases(uris: readonly string[], maxPoolSize: number): Promise<BenchDatabases> {
  const suffix = randomBytes(6).toString('hex');
  const seedClient = new MongoClient(uris[0]!, {
    maxPoolSize,
    writeConcern: { w: 'majority' },
    serverSelectionTimeoutMS: 10_000,
  });
  let shards: ShardSet | undefined;
  try {
    shards = await ShardSet.connect({
      uris,
      stockDb: `bench_stock_${suffix}`,
      cartsDb: `bench_carts_${suffix}`,
      maxPoolSize,
    });
    await ensureSchema(shards);
    const seedDb = seedClient.db(`bench_seed_${suffix}`);
    // Created up front: FerretDB can fail with SQLITE_BUSY when racing clients create a collection implicitly.
    const cartLines = await seedDb.createCollection<CartLine>(collections.carts.lines);
    await cartLines.createIndex({ sku: 1 }, { name: 'sku' });
    const ready = shards;
    return {
      shards: ready,
      cartLines,
      async drop() {
        for (let s = 0; s < ready.size; s++) {
          await ready.stockDb(s).dropDatabase();
          await ready.cartsDb(s).dropDatabase();
        }
        await seedDb.dropDatabase();
      },
      async close() {
        await Promise.all([ready.close(), seedClient.close()]);
      },
    };
  } catch (err) {
    await Promise.all([shards?.close(), seedClient.close()]);
    throw err;
  }
}
