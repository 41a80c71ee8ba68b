import { createHash } from 'node:crypto';
import type { Collection } from 'mongodb';
import { collections, type ShardSet } from '../db';
import { isDuplicateKey } from '../stock/ledger';
import { HttpError } from './errors';

export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

interface IdempotencyRecord {
  readonly _id: string;
  readonly requestHash: string;
  readonly createdAt: Date;
  readonly response?: StoredResponse;
}

/** How long a claim may stay without a response before a retry runs the (idempotent) handler again. */
const staleClaimMs = 30_000;

/**
 * Stripe-style idempotency keys: the first request with a key runs and its response is kept; the same key
 * with the same body replays that response; the same key with another body is a 422. Records are kept (at
 * least 24 h; FerretDB has no TTL indexes, so nothing removes them yet).
 *
 * The claim is an insert, so exactly one request runs the handler. Handlers derive their workflow ids from
 * the key, so a retry after a crash that left a claim without a response may safely run them again.
 */
export class IdempotencyStore {
  constructor(private readonly shards: ShardSet) {}

  async run(
    scope: string,
    key: string,
    body: unknown,
    handler: () => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    const id = `${scope}:${key}`;
    const requestHash = createHash('sha256')
      .update(JSON.stringify(body ?? null))
      .digest('base64url');
    const col = this.collection(id);
    try {
      await col.insertOne({ _id: id, requestHash, createdAt: new Date() });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await col.findOne({ _id: id });
      if (!existing) throw err;
      if (existing.requestHash !== requestHash) {
        throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request');
      }
      if (existing.response) return { ...existing.response, replayed: true };
      if (Date.now() - existing.createdAt.getTime() < staleClaimMs) {
        throw new HttpError(409, 'request_in_progress', 'a request with this Idempotency-Key is in progress');
      }
    }
    const response = await handler();
    if (response.statusCode < 500) {
      try {
        await col.updateOne({ _id: id }, { $set: { response } });
      } catch {
        // The work is done; an unrecorded response only means a retry of this key runs the idempotent handler
        // again once the claim is stale. Failing the request here (FerretDB answers SQLITE_BUSY under load)
        // would turn a success into a 500.
      }
    }
    return { ...response, replayed: false };
  }

  private collection(id: string): Collection<IdempotencyRecord> {
    return this.shards.cartsDb(this.shards.shardFor(id)).collection<IdempotencyRecord>(collections.carts.idempotency);
  }
}

/** A short stable id from an idempotency key, for ids derived from it (hold ids, order ids). */
export function keyDigest(scope: string, key: string): string {
  return createHash('sha256').update(`${scope}\n${key}`).digest('base64url').slice(0, 16).replace(/[-_]/g, 'x');
}
