import { randomBytes } from 'node:crypto';
import { MongoClient, type Collection } from 'mongodb';
import { collections, ensureSchema, ShardSet } from '../../src/db';
import type { CartLine } from './seed-baseline';

/** The databases of one bench run, by name: what a client process needs to find them. */
export interface BenchDatabaseNames {
  readonly stock: string;
  readonly carts: string;
  readonly seed: string;
}

/** Fresh databases for one bench run, so no run sees another's data. */
export interface BenchDatabases {
  readonly names: BenchDatabaseNames;
  readonly shards: ShardSet;
  /** The seed baseline's cart lines: one collection on the first shard, as the shop has it today. */
  readonly cartLines: Collection<CartLine>;
  /** Drops every database this run created. */
  drop(): Promise<void>;
  close(): Promise<void>;
}

/** Creates this run's databases, their collections and indexes. */
export async function openBenchDatabases(uris: readonly string[], maxPoolSize: number): Promise<BenchDatabases> {
  const suffix = randomBytes(6).toString('hex');
  const names = { stock: `bench_stock_${suffix}`, carts: `bench_carts_${suffix}`, seed: `bench_seed_${suffix}` };
  const dbs = await attachBenchDatabases(uris, names, maxPoolSize);
  try {
    await ensureSchema(dbs.shards);
    // Created up front: FerretDB can fail with SQLITE_BUSY when racing clients create a collection implicitly.
    await dbs.cartLines.db.createCollection<CartLine>(collections.carts.lines);
    await dbs.cartLines.createIndex({ sku: 1 }, { name: 'sku' });
    return dbs;
  } catch (err) {
    await dbs.close();
    throw err;
  }
}

/** Connects to databases another process created with openBenchDatabases (a client process of the bench). */
export async function attachBenchDatabases(
  uris: readonly string[],
  names: BenchDatabaseNames,
  maxPoolSize: number,
): Promise<BenchDatabases> {
  const seedClient = new MongoClient(uris[0]!, {
    maxPoolSize,
    writeConcern: { w: 'majority' },
    serverSelectionTimeoutMS: 10_000,
  });
  let shards: ShardSet;
  try {
    shards = await ShardSet.connect({ uris, stockDb: names.stock, cartsDb: names.carts, maxPoolSize });
  } catch (err) {
    await seedClient.close();
    throw err;
  }
  const seedDb = seedClient.db(names.seed);
  return {
    names,
    shards,
    cartLines: seedDb.collection<CartLine>(collections.carts.lines),
    async drop() {
      for (let s = 0; s < shards.size; s++) {
        await shards.stockDb(s).dropDatabase();
        await shards.cartsDb(s).dropDatabase();
      }
      await seedDb.dropDatabase();
    },
    async close() {
      await Promise.all([shards.close(), seedClient.close()]);
    },
  };
}
