import { createHash } from 'node:crypto';
import type { Collection } from 'mongodb';
import { BatchedInserts, collections, idempotencyRetentionSeconds, type ShardSet } from '../db';
import { HttpError } from './errors';

export interface RunOptions<R extends StoredResponse> {
  /**
   * An answer asked for before the key's record is looked up. When it answers, that answer is recorded like a
   * handler's, and a record that already stands wins (it is replayed, or 422 for another body): so it may write
   * nothing but what the handler's own run for the key would then follow (a sold-out SKU's refusal is the
   * line's first attempt, which any run of the line follows), and its answer must stand without the record,
   * which may be lost. A path that answers most requests this way (a sold-out SKU's refusals) saves the lookup,
   * and pays with a wasted answer when the key was answered before.
   */
  readonly beforeLookup?: (requestHash: string) => Promise<R | undefined>;
}

export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
  /** Not an answer yet (a place in a drop's waiting room): not kept, so the key asks again. */
  readonly provisional?: true;
}

interface IdempotencyRecord {
  readonly _id: string;
  readonly requestHash: string;
  readonly createdAt: Date;
  readonly response: StoredResponse;
}

/**
 * Stripe-style idempotency keys: the first response for a key is kept; the same key with the same body replays
 * it; the same key with another body is a 422. Records are kept 48 h (`idempotencyRetentionSeconds`): a TTL
 * index removes them on MongoDB, `sweep` on FerretDB (which has no TTL indexes).
 *
 * The record is written once, when the handler has answered: one read and one insert per request (inserts of
 * concurrent requests share a round trip per shard, see BatchedInserts); an answer before the lookup
 * (`RunOptions.beforeLookup`) needs only the insert. Requests
 * with one key that race may each run the handler, which is safe because handlers derive their workflow ids
 * from the key and never start a second run for it; the first response recorded stands, and the others answer
 * with it. A provisional response (a place in a drop's waiting room) is not kept, and the key asks again.
 * A response that could not be recorded (a crash, FerretDB's SQLITE_BUSY under load) only means that
 * a retry of the key runs the idempotent handler again.
 */
export class IdempotencyStore {
  private readonly writers = new Map<number, BatchedInserts<IdempotencyRecord>>();

  constructor(private readonly shards: ShardSet) {}

  /**
   * `R` is what the handler answers; a replay answers what an earlier run of the same handler recorded. The
   * handler is given the request's digest (what a provisional answer binds, see StoredResponse).
   */
  async run<R extends StoredResponse>(
    scope: string,
    key: string,
    body: unknown,
    handler: (requestHash: string) => Promise<R>,
    options: RunOptions<R> = {},
  ): Promise<R & { replayed: boolean }> {
    const id = `${scope}:${key}`;
    const requestHash = requestDigest(body);
    if (options.beforeLookup) {
      const early = await options.beforeLookup(requestHash);
      if (early) return this.record(id, requestHash, early);
    }
    const earlier = replayOf<R>(await this.collection(id).findOne({ _id: id }), requestHash);
    if (earlier) return earlier;
    return this.record(id, requestHash, await handler(requestHash));
  }

  /** Keeps a response as the key's answer, unless one stands already: then that one is answered (or 422). */
  private async record<R extends StoredResponse>(
    id: string,
    requestHash: string,
    response: R,
  ): Promise<R & { replayed: boolean }> {
    if (response.statusCode < 500 && !response.provisional) {
      const recorded = await this.writerFor(id)
        .insert({ _id: id, requestHash, createdAt: new Date(), response })
        .catch(
          // Unrecorded: the work is done, and failing the request here would turn a success into a 500.
          () => undefined,
        );
      // A twin recorded its answer first: that one stands (or the body differs: 422).
      if (recorded && !recorded.inserted) {
        const first = replayOf<R>(recorded.stands, requestHash);
        if (first) return first;
      }
    }
    return { ...response, replayed: false };
  }

  /**
   * Removes the answers kept longer than `retentionSeconds` from every shard whose collection has no TTL index
   * (FerretDB has none; MongoDB's removes them by itself). Returns how many were removed. Run now and then by
   * the API (buildApp); any process may run it at the same time as another.
   */
  async sweep(retentionSeconds = idempotencyRetentionSeconds, now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - retentionSeconds * 1000);
    let removed = 0;
    for (let shard = 0; shard < this.shards.size; shard++) {
      const col = this.shards.cartsCollection<IdempotencyRecord>(shard, collections.carts.idempotency);
      const indexes = await col.indexes();
      if (indexes.some((index) => index.expireAfterSeconds !== undefined)) continue;
      removed += (await col.deleteMany({ createdAt: { $lt: cutoff } })).deletedCount;
    }
    return removed;
  }

  private collection(id: string): Collection<IdempotencyRecord> {
    return this.shards.cartsCollection<IdempotencyRecord>(this.shards.shardFor(id), collections.carts.idempotency);
  }

  /** Records are inserted in batches per shard (a flash sale's refusals each keep one). */
  private writerFor(id: string): BatchedInserts<IdempotencyRecord> {
    const shard = this.shards.shardFor(id);
    let writer = this.writers.get(shard);
    if (!writer) this.writers.set(shard, (writer = new BatchedInserts(this.collection(id))));
    return writer;
  }
}

/** The key was first used with another request body: 422, unless the route says what that means for it. */
export class IdempotencyKeyReusedError extends HttpError {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor() {
    super('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
}

/** The recorded answer for a key, or an IdempotencyKeyReusedError when the key came with another body. */
function replayOf<R extends StoredResponse>(
  record: IdempotencyRecord | null,
  requestHash: string,
): (R & { replayed: true }) | undefined {
  if (!record) return undefined;
  if (record.requestHash !== requestHash) throw new IdempotencyKeyReusedError();
  return { ...(record.response as R), replayed: true };
}

/** What a request asks for, as a digest: the same key with another digest is another request. */
function requestDigest(body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(body ?? null))
    .digest('base64url');
}

/** A short stable id from an idempotency key, for ids derived from it (hold ids, order ids, ledger operations). */
export function keyDigest(scope: string, key: string): string {
  return createHash('sha256').update(`${scope}\n${key}`).digest('base64url').slice(0, 16).replace(/[-_]/g, 'x');
}
