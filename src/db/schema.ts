import { MongoServerError, type Db } from 'mongodb';
import { insertOnce } from './insert-once';
import { ledgerSlotOf, scanAllShards } from './shard-keys';
import type { ShardSet } from './shards';

/** Collection names, one place. Stock and carts are separate databases on every shard. */
export const collections = {
  stock: {
    products: 'products',
    buckets: 'buckets',
    ledger: 'ledger',
    /** Per (SKU, buyer) allowance ledgers of products with a per-customer limit (see src/stock/allowances.ts). */
    allowances: 'allowances',
    ops: 'ops',
    /** Per bucket, the epochs of its owner's lease (see src/stock/ownership.ts). */
    leases: 'leases',
    notifications: 'notifications',
    purchaseOrders: 'purchase_orders',
    /** A drop's waiting rooms (see src/admission): places in arrival order, lines' places, the gate's steps. */
    queueTickets: 'queue_tickets',
    queuePlaces: 'queue_places',
    queueGates: 'queue_gates',
    /** One document per data migration done on this shard (`migrate`). */
    migrations: 'migrations',
  },
  carts: {
    carts: 'carts',
    lines: 'cart_lines',
    /** Per cart, its lines in the order they were first saved (see CartLineStore). */
    lineRefs: 'cart_line_refs',
    orders: 'orders',
    /** The fake payment gateway's own records (the provider's side, not ours). */
    gateway: 'gateway_records',
    idempotency: 'idempotency_keys',
    /** Domain events, append-only, `_id` = the event id (see src/events). */
    events: 'events',
    /** Webhook endpoints ops registered: written once, deleted, never changed. */
    webhookEndpoints: 'webhook_endpoints',
    /** One record per (endpoint, event): its delivery's status, attempts and last error. */
    webhookDeliveries: 'webhook_deliveries',
    /** Facts about the data itself, each written once (`eventsSinceMark`: when events began to be recorded). */
    marks: 'marks',
  },
} as const;

/**
 * The mark (collection `marks`, on every shard) of when this store first ran with domain events: changes made
 * before it have none, and the system check does not ask for theirs.
 */
export const eventsSinceMark = 'events-since';

/** How long an Idempotency-Key's answer is kept (Stripe keeps them 24 h): a TTL index, or a sweep on FerretDB. */
export const idempotencyRetentionSeconds = 48 * 3600;

/** FerretDB v1 answers NotImplemented to an index option it lacks (expireAfterSeconds: TTL indexes). */
const notImplemented = 238;

/**
 * Creates every collection and index up front on every shard: FerretDB can fail with SQLITE_BUSY when
 * many connections race to create a collection implicitly. Safe to run again.
 */
export async function ensureSchema(shards: ShardSet): Promise<void> {
  for (let shard = 0; shard < shards.size; shard++) {
    const stock = shards.stockDb(shard);
    const carts = shards.cartsDb(shard);
    const existing = new Set([
      ...(await stock.listCollections({}, { nameOnly: true }).toArray()).map((c) => `stock.${c.name}`),
      ...(await carts.listCollections({}, { nameOnly: true }).toArray()).map((c) => `carts.${c.name}`),
    ]);
    for (const name of Object.values(collections.stock)) {
      if (!existing.has(`stock.${name}`)) await createIfMissing(stock, name);
    }
    for (const name of Object.values(collections.carts)) {
      if (!existing.has(`carts.${name}`)) await createIfMissing(carts, name);
    }
    await migrateLedgerSlots(stock);
    await insertOnce(
      carts.collection<{ _id: string; at: Date }>(collections.carts.marks),
      { _id: eventsSinceMark, at: new Date() },
      'ignore',
    );
    // One movement per (bucket, operation): the idempotency of every ledger write rests on this index. It leads
    // with the shard key (slot, bucketId) because a sharded MongoDB only enforces unique indexes prefixed by it.
    const ledger = stock.collection(collections.stock.ledger);
    await ledger.createIndex({ slot: 1, bucketId: 1, opKey: 1 }, { unique: true, name: 'slot_bucketId_opKey_unique' });
    await ledger.dropIndex('bucketId_opKey_unique').catch((err: unknown) => {
      if (!(err instanceof MongoServerError && err.code === indexNotFound)) throw err;
    });
    await stock
      .collection(collections.stock.allowances)
      .createIndex({ bucketId: 1, opKey: 1 }, { unique: true, name: 'bucketId_opKey_unique' });
    await carts.collection(collections.carts.lines).createIndex({ cartId: 1 }, { name: 'cartId' });
    // MongoDB removes kept answers by itself; on FerretDB (no TTL indexes) the API sweeps them (IdempotencyStore).
    await carts
      .collection(collections.carts.idempotency)
      .createIndex({ createdAt: 1 }, { name: 'createdAt_ttl', expireAfterSeconds: idempotencyRetentionSeconds })
      .catch((err: unknown) => {
        if (!(err instanceof MongoServerError && err.code === notImplemented)) throw err;
      });
  }
}

/** A dropIndex of an index that is not there (never made, or another process dropped it first). */
const indexNotFound = 27;

/**
 * Ledger entries written before the shard key led with the placement slot have none: each gets its bucket's
 * (entries are never updated otherwise, so two processes doing this at once write the same value). Done once
 * per shard, remembered in `migrations`, so a start does not scan the ledger every time.
 */
async function migrateLedgerSlots(stock: Db): Promise<void> {
  const migrations = stock.collection<{ _id: string; at: Date }>(collections.stock.migrations);
  const id = 'ledger-slots';
  if (await migrations.findOne({ _id: id })) return;
  const ledger = stock.collection<{ bucketId: string; slot?: number | null }>(collections.stock.ledger);
  const legacy = await ledger.distinct('bucketId', { slot: null }, { comment: scanAllShards });
  for (const bucketId of legacy) {
    const cut = bucketId.lastIndexOf('#');
    const slot = ledgerSlotOf(bucketId.slice(0, cut), Number(bucketId.slice(cut + 1)));
    await ledger.updateMany({ slot: null, bucketId }, { $set: { slot } });
  }
  await insertOnce(migrations, { _id: id, at: new Date() }, 'ignore');
}

/** Creates a collection; another process (API and worker start together) may have just created it. */
async function createIfMissing(db: Db, name: string): Promise<void> {
  try {
    await db.createCollection(name);
  } catch (err) {
    if (!(err instanceof MongoServerError && err.code === 48)) throw err; // NamespaceExists
  }
}
