import { collections, type ShardSet } from '../db';
import { idDigest, shardOf } from '../db/hash';
import { BucketLedger } from './ledger';
import { settleOpId, trimOpId } from './op-keys';
import type { BucketRef, Hold, SettleKind } from './types';

/** Whom a per-customer limit counts for: a customer over all their carts, or an anonymous cart alone. */
export interface Buyer {
  readonly cartId: string;
  readonly customerId?: string;
}

/** The id of a buyer's allowance bucket of a SKU: the buyer's key hashed, so no caller's text is in an id. */
export function allowanceBucketId(sku: string, buyer: Buyer): string {
  const key = buyer.customerId !== undefined ? `customer:${buyer.customerId}` : `cart:${buyer.cartId}`;
  return `allow:${sku}:${idDigest(key)}`;
}

/** The SKU an allowance bucket id names. */
export function skuOfAllowance(bucketId: string): string {
  return bucketId.slice('allow:'.length, bucketId.lastIndexOf(':'));
}

/** Where an allowance bucket lives: on a shard by the hash of its id, like any other document keyed by id. */
export function allowanceBucket(bucketId: string, shards: number): BucketRef {
  // Allowances are not sharded behind mongos (src/db/shard-keys.json): the slot only rides along.
  return { sku: skuOfAllowance(bucketId), index: 0, id: bucketId, shard: shardOf(bucketId, shards), slot: 0 };
}

/**
 * Per-customer limits (`maxPerCustomer`) as a ledger: each (SKU, buyer) has one allowance bucket (collection
 * `allowances`) that opens with `maxPerCustomer` available, and a hold of a limited SKU first reserves its
 * quantity there under its own hold id. The allowance hold then follows the stock hold's fate: released when
 * it is released or trimmed, committed when it is sold (`holds.ts` mirrors every settle and trim). So held +
 * bought units of a buyer never exceed the limit: the allowance's `available` never goes below zero, and it is
 * only ever taken by a compare-and-append (`BucketLedger.append`), never by a read-then-write.
 *
 * Keys are the stock hold's: the reservation under the hold id, its settle under `settle:<holdId>`, a trim
 * under `trim:<holdId>:<keep>`, each at most once per bucket, so a retried activity writes each once.
 */
export class Allowances {
  readonly ledger: BucketLedger;

  constructor(
    private readonly shards: ShardSet,
    clock: () => Date,
  ) {
    this.ledger = new BucketLedger(shards, clock, collections.stock.allowances);
  }

  bucketOf(sku: string, buyer: Buyer): BucketRef {
    return allowanceBucket(allowanceBucketId(sku, buyer), this.shards.size);
  }

  /**
   * Reserves qty of the buyer's allowance for holdId (opening the bucket with `limit` the first time). `left`
   * is what the allowance had when it refused; a retry of a reservation that stands finds it.
   */
  async reserve(
    bucket: BucketRef,
    limit: number,
    holdId: string,
    qty: number,
  ): Promise<{ readonly reserved: true } | { readonly reserved: false; readonly left: number }> {
    if (!(await this.ledger.head(bucket, false))) await this.ledger.open(bucket, 'open', limit);
    const result = await this.ledger.append(
      bucket,
      holdId,
      { kind: 'reserve', qty },
      { ref: holdId, findDuplicateWhenRefused: true },
    );
    if (result.status === 'appended' || result.status === 'duplicate') return { reserved: true };
    if (result.status === 'insufficient') return { reserved: false, left: result.head.balances.available };
    throw new Error(`allowance ${bucket.id} is not open`);
  }

  /** Ends a hold's allowance as its stock ended (released or committed), once. */
  async settle(hold: Hold, bucket: BucketRef, kind: SettleKind): Promise<void> {
    const result = await this.ledger.append(
      bucket,
      settleOpId(hold.holdId),
      { kind, qty: hold.qty },
      { ref: hold.holdId, findDuplicateWhenRefused: true },
    );
    if (result.status !== 'appended' && result.status !== 'duplicate') {
      throw new Error(`allowance ${bucket.id} cannot settle hold ${hold.holdId}: ${result.status}`);
    }
  }

  /** Shrinks a hold's allowance to `keep` units as its stock hold was trimmed, once per step. */
  async trim(hold: Hold, bucket: BucketRef, keep: number): Promise<void> {
    const result = await this.ledger.append(
      bucket,
      trimOpId(hold.holdId, keep),
      { kind: 'release', qty: hold.qty - keep },
      { ref: hold.holdId, findDuplicateWhenRefused: true },
    );
    if (result.status !== 'appended' && result.status !== 'duplicate') {
      throw new Error(`allowance ${bucket.id} cannot trim hold ${hold.holdId}: ${result.status}`);
    }
  }
}
