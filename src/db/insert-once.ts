import { MongoServerError, type Collection, type Filter, type OptionalUnlessRequiredId } from 'mongodb';

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
    return { inserted: false, stands: (await col.findOne({ _id: doc._id } as Filter<T>)) as T | null };
  }
  return onDuplicate === 'ignore' ? true : { inserted: true, stands: doc };
}
