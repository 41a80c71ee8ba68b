import { describe, expect, it } from 'vitest';
import { HeadLooks } from '../../src/stock/head-looks';
import type { BucketLedger } from '../../src/stock/ledger';
import type { BucketRef, LedgerEntry } from '../../src/stock/types';

const buckets = [0, 1].map((index) => ({ id: `sku#${index}`, shard: index, index }) as BucketRef);

/** A ledger whose head reads answer when the test says, with seqs the test sets; it counts the reads. */
function slowLedger() {
  const seqs = new Map(buckets.map((b) => [b.id, 1]));
  const pending: (() => void)[] = [];
  let reads = 0;
  const ledger = {
    head: (b: BucketRef) =>
      new Promise<LedgerEntry>((resolve) => {
        reads++;
        pending.push(() => resolve({ seq: seqs.get(b.id)! } as LedgerEntry));
      }),
  } as unknown as BucketLedger;
  /** Answers every read waiting now, and lets the looks go on. */
  const answer = async () => {
    for (const done of pending.splice(0)) done();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { ledger, seqs, answer, reads: () => reads };
}

describe('shared looks at a SKU’s heads', () => {
  it('callers during a look share the next one, which starts after they asked', async () => {
    const { ledger, answer, reads } = slowLedger();
    const looks = new HeadLooks(ledger);
    const first = looks.moment('sku', buckets);
    await answer(); // the first read of look 1 is in: look 1 is under way
    const later = [looks.moment('sku', buckets), looks.moment('sku', buckets)];
    expect(later[0]).toBe(later[1]);
    await answer(); // look 1's second read
    expect((await first)?.map((h) => h.seq)).toEqual([1, 1]);
    expect(reads()).toBe(6); // look 1's four, and look 2 started at once when look 1 ended
    await answer();
    await answer(); // look 2's second read
    expect((await later[0])?.map((h) => h.seq)).toEqual([1, 1]);
    expect(reads()).toBe(8); // two looks for three callers, none joined one under way
  });

  it('a bucket that moved between the two reads makes no moment', async () => {
    const { ledger, seqs, answer } = slowLedger();
    const looks = new HeadLooks(ledger);
    const moment = looks.moment('sku', buckets);
    await answer();
    seqs.set('sku#1', 2);
    await answer();
    expect(await moment).toBeUndefined();
  });
});
