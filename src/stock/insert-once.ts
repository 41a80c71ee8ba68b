import type { Collection, Filter, OptionalUnlessRequiredId } from 'mongodb';
import { isDuplicateKey } from '../db';

/**
 * Inserts a document that must exist once; false when a unique index refused it (a twin or an earlier run came
 * first), and nothing was written. The one place in the stock library that turns a duplicate key into a value.
 */
export async function insertOnce<T extends { _id: string }>(col: Collection<T>, doc: T): Promise<boolean> {
  try {
    await col.insertOne(doc as OptionalUnlessRequiredId<T>);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/**
 * Inserts a document that must exist once, and names the one that stands under its `_id`: this one when this
 * call inserted it, else the one written first, read back (null when another unique index refused the insert).
 */
export async function insertOrRead<T extends { _id: string }>(
  col: Collection<T>,
  doc: T,
): Promise<{ readonly inserted: boolean; readonly stands: T | null }> {
  if (await insertOnce(col, doc)) return { inserted: true, stands: doc };
  return { inserted: false, stands: (await col.findOne({ _id: doc._id } as Filter<T>)) as T | null };
}
