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
  it('callers share collects, and never use one that started before they asked', async () => {
    const { ledger, seqs, answer, reads } = slowLedger();
    const looks = new HeadLooks(ledger);
    const first = looks.moment('sku', buckets); // collect 0 starts
    const later = [looks.moment('sku', buckets), looks.moment('sku', buckets)]; // asked during collect 0
    await answer(); // collect 0: seqs 1, 1
    seqs.set('sku#0', 2);
    seqs.set('sku#1', 2);
    await answer(); // collect 1: 2, 2 (the first caller's pair moved: it tries collects 1 and 2)
    await answer(); // collect 2: 2, 2
    const moments = await Promise.all([first, ...later]);
    expect(moments.map((m) => m?.map((h) => h.seq))).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    expect(reads()).toBe(6); // three collects of two heads for three callers
  });

  it('a SKU whose buckets keep moving gives no moment after a few pairs', async () => {
    const { ledger, seqs, answer, reads } = slowLedger();
    const looks = new HeadLooks(ledger);
    const moment = looks.moment('sku', buckets);
    for (let collect = 0; collect < 4; collect++) {
      await answer();
      seqs.set('sku#1', seqs.get('sku#1')! + 1);
    }
    expect(await moment).toBeUndefined();
    expect(reads()).toBe(8);
  });
});
