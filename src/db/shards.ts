import {
  MongoClient,
  type Collection,
  type CommandStartedEvent,
  type Db,
  type Document,
  type Filter,
  type FindOptions,
} from 'mongodb';
import { scanAllShards, type DatabaseKind } from './shard-keys';
import { shardOf } from './hash';

export interface ShardSetOptions {
  readonly uris: readonly string[];
  readonly stockDb: string;
  readonly cartsDb: string;
  /** Connections per shard; the ledger's compare-and-append is latency-bound, so a wide pool pays. */
  readonly maxPoolSize?: number;
  /** Sees every command sent to the stock and carts databases (tests check them: see shardKeyProblem). */
  readonly onCommand?: (db: DatabaseKind, event: CommandStartedEvent) => void;
  /** Where a renewed shard client is reported (see `renewStalled`): the process's logger (pino's shape). */
  readonly log?: { warn(fields: { shard: number; stalledMs: number }, message: string): void };
}

/**
 * Per-shard time limits: a shard cut off by the network must cost a caller a bounded wait, never a hang (a
 * socket whose packets vanish never closes by itself). Every command holdfast sends addresses documents by
 * `_id` and answers in milliseconds; the scans of the checks fetch batches, each far below the socket limit.
 */
export const shardTimeouts = {
  connectTimeoutMS: 2_000,
  serverSelectionTimeoutMS: 5_000,
  socketTimeoutMS: 10_000,
  /** How often each shard is pinged to learn whether it is reachable (see `reachable`). */
  probeEveryMs: 250,
  /** A ping slower than this counts the shard as cut off. */
  probeTimeoutMS: 1_000,
  /** How often the driver checks each shard's server (and finds a healed one again). */
  heartbeatMS: 2_000,
  /**
   * A shard's client whose driver has not checked the server successfully for this long, while the shard answers
   * this process's pings, is renewed (see `renewStalled`); at most once per this long per shard.
   */
  stalledAfterMs: 15_000,
} as const;

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
  /** Whether each shard answered its last ping (see `reachable`). */
  private readonly answered: boolean[];
  private readonly probeTimer: NodeJS.Timeout;
  private readonly pinging: boolean[];
  /** When the driver's monitor of each shard's client last checked the server successfully. */
  private readonly checkedAt: number[];
  /** When each shard's client was last renewed (see `renewStalled`), and whether it is being renewed. */
  private readonly renewedAt: number[];
  private readonly renewing: boolean[];
  private closed = false;

  private constructor(
    clients: MongoClient[],
    /** One connection per shard of its own for the pings: a ping never waits behind the pool's busy work. */
    private readonly probes: MongoClient[],
    options: ShardSetOptions,
  ) {
    this.clients = clients;
    this.options = options;
    this.size = clients.length;
    this.answered = clients.map(() => true);
    this.pinging = clients.map(() => false);
    this.checkedAt = clients.map(() => Date.now());
    this.renewedAt = clients.map(() => 0);
    this.renewing = clients.map(() => false);
    for (const [shard, client] of clients.entries()) {
      client.on('serverHeartbeatSucceeded', () => (this.checkedAt[shard] = Date.now()));
    }
    this.probeTimer = setInterval(() => this.probe(), shardTimeouts.probeEveryMs).unref();
  }

  static async connect(options: ShardSetOptions): Promise<ShardSet> {
    if (options.uris.length === 0) throw new Error('ShardSet needs at least one MongoDB URI');
    const clients = options.uris.map(
      (uri) =>
        new MongoClient(uri, {
          maxPoolSize: options.maxPoolSize ?? 64,
          writeConcern: { w: 'majority' },
          connectTimeoutMS: shardTimeouts.connectTimeoutMS,
          serverSelectionTimeoutMS: shardTimeouts.serverSelectionTimeoutMS,
          socketTimeoutMS: shardTimeouts.socketTimeoutMS,
          // The driver's streaming monitor long-polls `hello` on one socket; after a blackholed link healed it
          // was seen to keep its failed state for over a minute (every operation a server-selection error).
          // Polling checks with a fresh request every heartbeat, bounded by the connect time-out.
          serverMonitoringMode: 'poll',
          heartbeatFrequencyMS: shardTimeouts.heartbeatMS,
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
    // Under load every pooled connection may be busy for a while: a ping through the pool would wait for one and
    // read a busy shard as a cut-off one (and its buckets would be left out of sales). Pings have their own.
    const probes = options.uris.map(
      (uri) =>
        new MongoClient(uri, {
          maxPoolSize: 1,
          connectTimeoutMS: shardTimeouts.probeTimeoutMS,
          serverSelectionTimeoutMS: shardTimeouts.probeTimeoutMS,
          socketTimeoutMS: shardTimeouts.socketTimeoutMS,
        }),
    );
    try {
      await Promise.all(clients.map((c) => c.connect()));
    } catch (err) {
      await Promise.all(clients.map((c) => c.close()));
      throw err;
    }
    return new ShardSet(clients, probes, options);
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

  /**
   * The documents of a collection on every shard that match `filter` (each shard's own `sort` and `limit`
   * applied there), concatenated: a deliberate scan of every shard (`scanAllShards`), for checks and ops lists.
   */
  async scan<T extends Document>(
    kind: DatabaseKind,
    name: string,
    filter: Filter<T> = {},
    options: Pick<FindOptions, 'sort' | 'limit'> = {},
  ): Promise<T[]> {
    const parts = await Promise.all(
      Array.from({ length: this.size }, (_, s) =>
        this.collection<T>(kind, s, name)
          .find(filter, { ...options, comment: scanAllShards })
          .toArray(),
      ),
    );
    return parts.flat() as T[];
  }

  /** The shard that owns a key (a cart id, an order id, an operation id). */
  shardFor(key: string): number {
    return shardOf(key, this.size);
  }

  /**
   * Whether the shard answered its last ping (every 250 ms, within 1 s): a hint for choosing where to work
   * during a partition (which buckets to take stock from), never a decision that needs the truth. A shard cut
   * off counts as unreachable within about 1.25 s, and as reachable again as soon as a ping gets through.
   */
  reachable(shard: number): boolean {
    return this.answered[shard] ?? false;
  }

  /**
   * Pings each shard that has no ping in flight. A ping that takes longer than `probeTimeoutMS` marks its shard
   * unreachable at once (the driver's own time-outs are the socket's, far longer); its answer, when it comes,
   * marks the shard again.
   */
  private probe(): void {
    for (const [shard, client] of this.probes.entries()) {
      if (this.pinging[shard] || this.closed) continue;
      this.pinging[shard] = true;
      // Checked after the poll phase (setImmediate), so an answer that came while the event loop was busy is
      // taken first: a busy process does not read its shards as cut off.
      const late = setTimeout(
        () => setImmediate(() => this.pinging[shard] && (this.answered[shard] = false)).unref(),
        shardTimeouts.probeTimeoutMS,
      ).unref();
      client
        .db('admin')
        .command({ ping: 1 })
        .then(
          () => {
            this.answered[shard] = true;
            this.renewStalled(shard);
          },
          () => (this.answered[shard] = false),
        )
        .finally(() => {
          clearTimeout(late);
          this.pinging[shard] = false;
        });
    }
  }

  /**
   * Renews the shard's client when its driver has not checked the server successfully for `stalledAfterMs`
   * although the shard answers pings: closed and connected again, the same client (every handle made of it
   * stays good) with a new topology, monitor and pool. A chaos run saw a client keep a restarted shard's server
   * Unknown for two minutes, every operation a server-selection time-out, while a new process connected at
   * once; that cannot be told from a cut-off (the probes say so) and must not wait for a human. Operations in
   * flight on the old pool fail, and their activities retry them.
   */
  private renewStalled(shard: number): void {
    const now = Date.now();
    const stalledMs = now - this.checkedAt[shard]!;
    if (this.closed || this.renewing[shard] || stalledMs < shardTimeouts.stalledAfterMs) return;
    if (now - this.renewedAt[shard]! < shardTimeouts.stalledAfterMs) return;
    this.renewing[shard] = true;
    this.renewedAt[shard] = now;
    const client = this.clients[shard]!;
    void (async () => {
      try {
        await client.close();
        if (this.closed) return;
        await client.connect();
        this.options.log?.warn(
          { shard, stalledMs },
          'shard client renewed: its driver had stopped checking the server',
        );
      } catch {
        // Not connected: the next ping after `stalledAfterMs` tries again.
      } finally {
        this.renewing[shard] = false;
      }
    })();
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
    this.closed = true;
    clearInterval(this.probeTimer);
    await Promise.all([...this.clients, ...this.probes].map((c) => c.close()));
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
