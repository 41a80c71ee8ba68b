import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOrder, bucketsFor, bucketsOf, evenSplit, skuPattern } from '../../src/stock/placement';

const sku = fc.stringMatching(skuPattern);
const opId = fc.string({ minLength: 1, maxLength: 40 });

/** n buckets with the given cached availability. */
function bucketsWith(available: readonly number[]) {
  return available.map((a, index) => ({ index, available: a }));
}

describe('bucketsOf', () => {
  it('places consecutive buckets on consecutive shards, so buckets >= shards covers every shard evenly', () => {
    fc.assert(
      fc.property(
        sku,
        fc
          .integer({ min: 1, max: 16 })
          .chain((shards) => fc.tuple(fc.constant(shards), fc.integer({ min: 1, max: 64 }))),
        (s, [shards, n]) => {
          const buckets = bucketsOf(s, n, shards);
          expect(buckets).toEqual(bucketsOf(s, n, shards));
          expect(buckets.map((b) => b.id)).toEqual(Array.from({ length: n }, (_, i) => `${s}#${i}`));
          for (const [i, b] of buckets.entries()) {
            expect(b).toMatchObject({ sku: s, index: i });
            expect(b.shard).toBe((buckets[0]!.shard + i) % shards);
          }
          const perShard = Array.from(
            { length: shards },
            (_, shard) => buckets.filter((b) => b.shard === shard).length,
          );
          if (n >= shards) expect(Math.min(...perShard)).toBeGreaterThan(0);
          else expect(new Set(buckets.map((b) => b.shard)).size).toBe(n);
          expect(Math.max(...perShard) - Math.min(...perShard)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

describe('bucketOrder', () => {
  const available = fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 16 });

  it('is a permutation of all buckets, the same for the same operation id', () => {
    fc.assert(
      fc.property(available, opId, (a, op) => {
        const buckets = bucketsWith(a);
        const order = bucketOrder(buckets, op, (b) => b.available);
        expect(order.map((b) => b.index).sort((x, y) => x - y)).toEqual(a.map((_, i) => i));
        expect(bucketOrder(buckets, op, (b) => b.available)).toEqual(order);
      }),
    );
  });

  it('puts the two choices first, the one with more cached availability first; availability moves nothing else', () => {
    fc.assert(
      fc.property(available, opId, (a, op) => {
        const buckets = bucketsWith(a);
        // With equal availability the order shows the operation's two choices undisturbed.
        const plain = bucketOrder(buckets, op, () => 0).map((b) => b.index);
        const order = bucketOrder(buckets, op, (b) => b.available).map((b) => b.index);
        if (a.length === 1) {
          expect(order).toEqual([0]);
          return;
        }
        const [x, y] = plain as [number, number];
        expect(order.slice(0, 2)).toEqual(a[y]! > a[x]! ? [y, x] : [x, y]);
        expect(order.slice(2)).toEqual(plain.slice(2));
      }),
    );
  });

  it('spreads operations: every bucket is some operation first choice', () => {
    for (let n = 2; n <= 8; n++) {
      const buckets = bucketsWith(Array.from({ length: n }, () => 0));
      const firsts = new Set(Array.from({ length: 200 }, (_, i) => bucketOrder(buckets, `op-${i}`, () => 0)[0]!.index));
      expect(firsts.size).toBe(n);
    }
  });
});

describe('evenSplit', () => {
  it('sums to qty, shares differ by at most one, the remainder going to the first buckets', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000 }), fc.integer({ min: 1, max: 64 }), (qty, n) => {
        const shares = evenSplit(qty, n);
        expect(shares).toHaveLength(n);
        expect(shares.reduce((s, x) => s + x, 0)).toBe(qty);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
        expect(shares.every((x, i) => x >= 0 && (i === 0 || x <= shares[i - 1]!))).toBe(true);
      }),
    );
  });
});

describe('bucketsFor', () => {
  it('gives two buckets per writer and one per shard, never fewer than 8 units a bucket, within 1..64', () => {
    expect(bucketsFor(10_000, 2)).toBe(8); // 4 writers assumed
    expect(bucketsFor(10_000, 2, 12)).toBe(24);
    expect(bucketsFor(10_000, 40, 1)).toBe(40); // one per shard
    expect(bucketsFor(40, 2)).toBe(5); // 8 units each at least
    expect(bucketsFor(3, 2)).toBe(1);
    expect(bucketsFor(0, 2)).toBe(1);
    expect(bucketsFor(1_000_000, 2, 100)).toBe(64);
    fc.assert(
      fc.property(fc.nat(2_000_000), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 80 }), (q, s, w) => {
        const n = bucketsFor(q, s, w);
        return n >= 1 && n <= 64 && (n === 1 || q / n >= 8);
      }),
    );
  });
});
