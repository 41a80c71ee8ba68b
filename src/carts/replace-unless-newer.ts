import type { Collection, Filter } from 'mongodb';
import { isDuplicateKey } from '../db';

/**
 * Writes a document that one owner changes over time (a cart line, an order), unless the stored one is newer:
 * each state carries a `rev` its owner bumps, and a write is applied only over a lower rev. So a write that timed
 * out and lands after a later one (Temporal retried the activity meanwhile) cannot bring an old state back.
 * `shardKey` is the rest of the collection's shard key, for a sharded cluster's router. Returns whether it wrote.
 *
 * On MongoDB the filter makes the replace atomic. FerretDB v1 checks the filter and writes back without a lock,
 * so two writes of one document racing within that window can still reorder there: owners therefore write one
 * state at a time (the hold workflow chains its saves), so only a late duplicate of an earlier write can race.
 */
export async function replaceUnlessNewer<T extends { _id: string; rev: number }>(
  col: Collection<T>,
  doc: T,
  shardKey: Partial<T> = {},
): Promise<boolean> {
  // `$lte`: a state is written again with the rev it had when a workflow task that wrote it was lost and its
  // replay wrote another state under the same rev; the replayed one is the one that stands.
  const filter = { _id: doc._id, ...shardKey, rev: { $lte: doc.rev } } as Filter<T>;
  try {
    const r = await col.replaceOne(filter, doc, { upsert: true });
    return r.matchedCount > 0 || r.upsertedCount > 0;
  } catch (err) {
    // The document exists: either newer (nothing to do), or a twin inserted it first (an upsert is a query, then
    // an insert) and this state may still be newer than the twin's.
    if (!isDuplicateKey(err)) throw err;
    const r = await col.replaceOne(filter, doc);
    return r.matchedCount > 0;
  }
}
