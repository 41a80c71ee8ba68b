import {
  MongoBulkWriteError,
  MongoServerError,
  type Collection,
  type Filter,
  type OptionalUnlessRequiredId,
} from 'mongodb';
import { byIdWithShardKey } from './shard-keys';

/** A unique index (`_id` or another) refused a write: the atomic primitive every write here rests on. */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}

/** What an insert of a document that must exist once found: the document that stands under its `_id`. */
export type InsertOnce<T> =
  | { readonly inserted: true; readonly stands: T }
  /** Null when another unique index than `_id` refused the insert. */
  | { readonly inserted: false; readonly stands: T | null };

/**
 * Inserts a document that must exist once. A unique index refusing it means a twin or an earlier run came
 * first, and nothing was written: then `'ignore'` answers false, and `'read'` reads the document standing under
 * its `_id`. A duplicate-key insert is atomic on FerretDB and on a sharded MongoDB, where an update of one
 * document is not (FerretDB reads it and writes it back): this is the one place that turns that refusal into a
 * value.
 */
export async function insertOnce<T extends { _id: string }>(
  col: Collection<T>,
  doc: T,
  onDuplicate: 'ignore',
): Promise<boolean>;
export async function insertOnce<T extends { _id: string }>(
  col: Collection<T>,
  doc: T,
  onDuplicate: 'read',
): Promise<InsertOnce<T>>;
export async function insertOnce<T extends { _id: string }>(
  col: Collection<T>,
  doc: T,
  onDuplicate: 'ignore' | 'read',
): Promise<boolean | InsertOnce<T>> {
  try {
    await col.insertOne(doc as OptionalUnlessRequiredId<T>);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    if (onDuplicate === 'ignore') return false;
    return { inserted: false, stands: await standing(col, doc) };
  }
  return onDuplicate === 'ignore' ? true : { inserted: true, stands: doc };
}

/** The document standing under a refused one's `_id`, read with the collection's shard key beside it. */
async function standing<T extends { _id: string }>(col: Collection<T>, doc: T): Promise<T | null> {
  return (await col.findOne(byIdWithShardKey(col.collectionName, doc) as Filter<T>)) as T | null;
}

/**
 * Inserts documents that must each exist once, in one round trip (unordered: one refused document does not
 * stop the others; FerretDB writes the batch in one transaction and, when a unique index refuses one, each
 * document on its own). Returns, per document, whether it was inserted; for the refused ones, the document
 * that stands under its `_id` (null when another unique index than `_id` refused it). Any other failure
 * throws, and then some documents may have been written.
 */
export async function insertManyOnce<T extends { _id: string }>(
  col: Collection<T>,
  docs: readonly T[],
): Promise<InsertOnce<T>[]> {
  const refused = new Set<number>();
  try {
    await col.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = [err.writeErrors].flat();
    // Only an answer that accounts for every document, refused by a unique index or inserted, says which is
    // which: a bulk error without write errors (a server shutting down, a write concern not met) says nothing.
    const accounted = errors.length > 0 && errors.length + err.insertedCount === docs.length;
    if (!accounted || errors.some((e) => e.code !== 11000)) throw err;
    for (const e of errors) refused.add(e.index);
  }
  return Promise.all(
    docs.map(async (doc, i): Promise<InsertOnce<T>> => {
      if (!refused.has(i)) return { inserted: true, stands: doc };
      return { inserted: false, stands: await standing(col, doc) };
    }),
  );
}

/**
 * Inserts of documents that must each exist once, into one collection, combined: a document asked for while a
 * round trip is under way goes with the next one, all in one `insertManyOnce`. So many concurrent inserts cost a
 * round trip (and, on FerretDB, a transaction) each batch rather than each document, and a lone insert waits for
 * nothing.
 */
export class BatchedInserts<T extends { _id: string }> {
  private queued: { doc: T; resolve: (r: InsertOnce<T>) => void; reject: (err: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    private readonly col: Collection<T>,
    /** The most documents in one round trip. */
    private readonly maxBatch = 256,
  ) {}

  /** Like `insertOnce(col, doc, 'read')`. */
  insert(doc: T): Promise<InsertOnce<T>> {
    return new Promise((resolve, reject) => {
      this.queued.push({ doc, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queued.length > 0) {
        const batch = this.queued.splice(0, this.maxBatch);
        try {
          const results = await insertManyOnce(
            this.col,
            batch.map((q) => q.doc),
          );
          batch.forEach((q, i) => q.resolve(results[i]!));
        } catch (err) {
          for (const q of batch) q.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
