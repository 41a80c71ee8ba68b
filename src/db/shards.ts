import { MongoClient, type Collection, type CommandStartedEvent, type Db, type Document } from 'mongodb';
import type { DatabaseKind } from './shard-keys';
import { shardOf } from './hash';

export interface ShardSetOptions {
  readonly uris: readonly string[];
  readonly stockDb: string;
  readonly cartsDb: string;
  /** Connections per shard; the ledger's compare-and-append is latency-bound, so a wide pool pays. */
  readonly maxPoolSize?: number;
  /** Sees every command sent to the stock and carts databases (tests check them: see shardKeyProblem). */
  readonly onCommand?: (db: DatabaseKind, event: CommandStartedEvent) => void;
}

/**
 * The MongoDB deployments holdfast spreads its data over. Locally each FerretDB process is one shard and
 * holdfast places documents itself (by hash); against a real sharded cluster one mongos URI is one
 * logical shard and MongoDB places chunks by the collections' shard keys.
 *
 * Stock and carts live in separate databases: they share nothing but ids.
 */
export class ShardSet {
  readonly size: number;
  private readonly clients: MongoClient[];
  private readonly options: ShardSetOptions;
  private readonly dbs = new Map<string, Db>();
  private readonly collections = new Map<string, Collection<Document>>();

  private constructor(clients: MongoClient[], options: ShardSetOptions) {
    this.clients = clients;
    this.options = options;
    this.size = clients.length;
  }

  static async connect(options: ShardSetOptions): Promise<ShardSet> {
    if (options.uris.length === 0) throw new Error('ShardSet needs at least one MongoDB URI');
    const clients = options.uris.map(
      (uri) =>
        new MongoClient(uri, {
          maxPoolSize: options.maxPoolSize ?? 64,
          writeConcern: { w: 'majority' },
          serverSelectionTimeoutMS: 10_000,
          ...(options.onCommand ? { monitorCommands: true } : {}),
        }),
    );
    const { onCommand } = options;
    if (onCommand) {
      const kinds = new Map<string, DatabaseKind>([
        [options.stockDb, 'stock'],
        [options.cartsDb, 'carts'],
      ]);
      for (const client of clients) {
        client.on('commandStarted', (event) => {
          const kind = kinds.get(event.databaseName);
          if (kind) onCommand(kind, event);
        });
      }
    }
    try {
      await Promise.all(clients.map((c) => c.connect()));
    } catch (err) {
      await Promise.all(clients.map((c) => c.close()));
      throw err;
    }
    return new ShardSet(clients, options);
  }

  stockDb(shard: number): Db {
    return this.db('stock', shard);
  }

  cartsDb(shard: number): Db {
    return this.db('carts', shard);
  }

  /** A collection of a shard's stock database; the handle is made once (the driver parses options for each). */
  stockCollection<T extends Document>(shard: number, name: string): Collection<T> {
    return this.collection<T>('stock', shard, name);
  }

  /** A collection of a shard's carts database, made once like stockCollection's. */
  cartsCollection<T extends Document>(shard: number, name: string): Collection<T> {
    return this.collection<T>('carts', shard, name);
  }

  /** The shard that owns a key (a cart id, an order id, an operation id). */
  shardFor(key: string): number {
    return shardOf(key, this.size);
  }

  /** Pings every shard; resolves to one boolean per shard. */
  async ping(): Promise<boolean[]> {
    return Promise.all(
      this.clients.map(async (c) => {
        try {
          await c.db('admin').command({ ping: 1 }, { timeoutMS: 2000 });
          return true;
        } catch {
          return false;
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }

  private db(kind: 'stock' | 'carts', shard: number): Db {
    const key = `${kind}:${shard}`;
    let db = this.dbs.get(key);
    if (!db) {
      db = this.client(shard).db(kind === 'stock' ? this.options.stockDb : this.options.cartsDb);
      this.dbs.set(key, db);
    }
    return db;
  }

  private collection<T extends Document>(kind: 'stock' | 'carts', shard: number, name: string): Collection<T> {
    const key = `${kind}:${shard}:${name}`;
    let col = this.collections.get(key);
    if (!col) {
      col = this.db(kind, shard).collection(name);
      this.collections.set(key, col);
    }
    return col as unknown as Collection<T>;
  }

  private client(shard: number): MongoClient {
    const client = this.clients[shard];
    if (!client) throw new RangeError(`no shard ${shard} (have ${this.size})`);
    return client;
  }
}
