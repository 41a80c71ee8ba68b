import { stableHash } from '../db/hash';
import { ledgerSlotOf } from '../db/shard-keys';
import type { BucketRef } from './types';

/**
 * SKUs are ids in ledger keys: `#` and `|` are separators there, so only these characters are allowed. The HTTP
 * contract validates requests with the same pattern (`skuPatternSource`; test/unit/sku-pattern.test.ts).
 */
export const skuPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A SKU's buckets, placed round-robin over the shards from a hash of the SKU: with at least as many buckets as
 * shards, a hot SKU's buckets live on every shard. Behind mongos (one ShardSet shard) the same round-robin over
 * the ledger's placement slots, which the cluster's zones spread over its shards, does it.
 */
export function bucketsOf(sku: string, buckets: number, shards: number): BucketRef[] {
  const hash = stableHash(sku);
  return Array.from({ length: buckets }, (_, index) => ({
    sku,
    index,
    id: `${sku}#${index}`,
    shard: ((hash % shards) + index) % shards,
    slot: ledgerSlotOf(sku, index),
  }));
}

/** The index of the bucket an entry belongs to (the last part of its bucketId). */
export function bucketIndexOf(entry: { readonly bucketId: string }): number {
  return Number(entry.bucketId.slice(entry.bucketId.lastIndexOf('#') + 1));
}

/**
 * The order in which an operation tries buckets: two choices picked by a hash of the operation id (spreading
 * load), the one with more available first, then every other bucket, so stock is never stranded in a bucket
 * the operation did not look at.
 */
export function bucketOrder<T extends { index: number }>(
  buckets: readonly T[],
  opId: string,
  availableOf: (bucket: T) => number,
): T[] {
  const n = buckets.length;
  if (n <= 1) return [...buckets];
  const h = stableHash(opId);
  const a = h % n;
  const b = (a + 1 + ((h >>> 8) % (n - 1))) % n;
  const [first, second] = availableOf(buckets[b]!) > availableOf(buckets[a]!) ? [b, a] : [a, b];
  const rest = Array.from({ length: n }, (_, i) => (a + i) % n).filter((i) => i !== first && i !== second);
  return [first, second, ...rest].map((i) => buckets[i]!);
}

/** Splits qty over n buckets as evenly as possible, the remainder to the first buckets. */
export function evenSplit(qty: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(qty / n) + (i < qty % n ? 1 : 0));
}

/** Writers a SKU's buckets are sized for when nobody says: a worker or two and their API processes. */
export const expectedWriters = 4;
/** Units a bucket should start with at least, so that a small stock is not split into slivers. */
export const minUnitsPerBucket = 8;

/**
 * How many buckets a SKU needs: two per writer (each owns some while another is being refilled) and at least
 * one per shard (a hot SKU's writes spread over every shard), but no more than gives each bucket
 * `minUnitsPerBucket` units of its stock (a sliver of stock per bucket makes every multi-unit hold gather
 * first), and 1..64.
 */
export function bucketsFor(quantity: number, shards: number, writers = expectedWriters): number {
  const wanted = Math.max(shards, 2 * writers);
  const affordable = Math.max(1, Math.floor(quantity / minUnitsPerBucket));
  return Math.min(64, wanted, affordable);
}
