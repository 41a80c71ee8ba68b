import type { CommandStartedEvent, Document } from 'mongodb';
import { stableHash } from './hash';
import table from './shard-keys.json' with { type: 'json' };

export type DatabaseKind = 'stock' | 'carts';

export interface ShardedCollection {
  readonly db: DatabaseKind;
  readonly collection: string;
  /** The shard key: ranged (1) or hashed fields. */
  readonly key: Readonly<Record<string, 1 | 'hashed'>>;
  /** The shard key index's name, when the app's own index serves as it. */
  readonly indexName?: string;
}

/**
 * How each sharded collection is sharded on a MongoDB cluster behind mongos: the one table
 * (src/db/shard-keys.json, which the cluster's init script docker/mongo-init/init-cluster.js reads too).
 */
export const shardedCollections: readonly ShardedCollection[] = table.collections.map((c) => {
  const key = Object.entries(c.key as Record<string, unknown>);
  if ((c.db !== 'stock' && c.db !== 'carts') || key.length === 0 || key.some(([, v]) => v !== 1 && v !== 'hashed')) {
    throw new Error(`src/db/shard-keys.json: bad entry ${JSON.stringify(c)}`);
  }
  return c as unknown as ShardedCollection;
});

/**
 * How many placement slots the ledger's shard key has (`slot`, its first field): a bucket's slot is fixed by
 * its SKU and index (src/stock/placement.ts), and a cluster's zones spread the slots over its shards.
 */
export const ledgerSlots: number = table.ledgerSlots;
if (!Number.isInteger(ledgerSlots) || ledgerSlots < 1) throw new Error('src/db/shard-keys.json: bad ledgerSlots');

/** The placement slot of a SKU's bucket `index`: a SKU's consecutive buckets in consecutive slots. */
export function ledgerSlotOf(sku: string, index: number): number {
  return ((stableHash(sku) % ledgerSlots) + index) % ledgerSlots;
}

const byName = new Map(shardedCollections.map((c) => [`${c.db}.${c.collection}`, c]));
const byCollection = new Map(shardedCollections.map((c) => [c.collection, c]));

/** The shard key fields of a collection, or undefined when it is not sharded. */
export function shardKeyOf(db: DatabaseKind, collection: string): readonly string[] | undefined {
  const sharded = byName.get(`${db}.${collection}`);
  return sharded ? Object.keys(sharded.key) : undefined;
}

/**
 * A read of a document by its `_id` that carries the collection's shard key too, taken from the document
 * (`{ bucketId, _id }` for a ledger entry): what a write's refusal reads back (insertOnce).
 */
export function byIdWithShardKey<T extends { _id: string }>(collection: string, doc: T): Document {
  // Collection names are unique across the stock and carts databases.
  const sharded = byCollection.get(collection);
  const filter: Document = {};
  for (const field of Object.keys(sharded?.key ?? {})) {
    if (field !== '_id') filter[field] = (doc as Document)[field];
  }
  filter._id = doc._id;
  return filter;
}

/**
 * The comment a read passes (`{ comment: scanAllShards }`) when it means to visit every shard (the system
 * check's reads by kind or SKU): mongos sends it to all, and the shard key check lets it be.
 */
export const scanAllShards = 'holdfast: a scan of every shard';

/** What a command does to which documents: the filters it selects by, the documents it inserts. */
function selections(command: Document, name: string): { filters: Document[]; inserts: Document[]; writes: boolean } {
  switch (name) {
    case 'find':
    case 'count':
    case 'distinct':
      return { filters: [command.filter ?? command.query ?? {}], inserts: [], writes: false };
    case 'aggregate': {
      const first = (command.pipeline as Document[] | undefined)?.[0];
      return { filters: [first?.$match ?? {}], inserts: [], writes: false };
    }
    case 'update':
      return { filters: (command.updates as Document[]).map((u) => u.q as Document), inserts: [], writes: true };
    case 'delete':
      return { filters: (command.deletes as Document[]).map((d) => d.q as Document), inserts: [], writes: true };
    case 'findAndModify':
      return { filters: [command.query ?? {}], inserts: [], writes: true };
    case 'insert':
      return { filters: [], inserts: command.documents as Document[], writes: true };
    default:
      return { filters: [], inserts: [], writes: false };
  }
}

/** Whether a filter pins the field to one value or a list of values (what mongos routes on). */
function pins(filter: Document, field: string): boolean {
  if (!(field in filter)) {
    const and = filter.$and as Document[] | undefined;
    return and !== undefined && and.some((f) => pins(f, field));
  }
  const value = filter[field] as unknown;
  if (value === null || typeof value !== 'object' || value instanceof Date) return true;
  const ops = Object.keys(value as Document);
  if (ops.length === 0 || !ops[0]!.startsWith('$')) return true; // an exact subdocument
  return ops.every((op) => op === '$eq' || op === '$in');
}

/**
 * Why a command would be routed badly or refused by mongos: a write (update, delete, findAndModify, insert)
 * on a sharded collection whose filter (or document) lacks the shard key, or a read with a filter that does
 * (an empty filter, or the comment `scanAllShards`, is a deliberate scan of every shard, as the system check's).
 * Undefined when it is fine.
 */
export function shardKeyProblem(db: DatabaseKind, event: Pick<CommandStartedEvent, 'commandName' | 'command'>) {
  const collection = event.command[event.commandName] as unknown;
  if (typeof collection !== 'string') return undefined;
  const key = shardKeyOf(db, collection);
  if (!key) return undefined;
  const { filters, inserts, writes } = selections(event.command, event.commandName);
  for (const filter of filters) {
    if (!writes && (Object.keys(filter).length === 0 || event.command.comment === scanAllShards)) continue;
    const missing = key.filter((field) => !pins(filter, field));
    if (missing.length > 0) {
      return `${event.commandName} on ${db}.${collection} without its shard key (${missing.join(', ')}): ${shape(filter)}`;
    }
  }
  for (const doc of inserts) {
    const missing = key.filter((field) => !(field in doc));
    if (missing.length > 0) return `insert into ${db}.${collection} without its shard key (${missing.join(', ')})`;
  }
  return undefined;
}

/** A filter's shape, values left out: `{"sku":"?","opId":{"$exists":"?"}}`. */
function shape(filter: Document): string {
  return JSON.stringify(filter, (key, value: unknown) =>
    key !== '' && (value === null || typeof value !== 'object' || value instanceof Date) ? '?' : value,
  );
}
