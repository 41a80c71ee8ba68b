import { performance } from 'node:perf_hooks';
import type { BucketLedger } from './ledger';
import type { BucketRef, LedgerEntry } from './types';

/** A SKU's heads as they all stood at one moment, or undefined when none could be shown. */
export type Moment = readonly LedgerEntry[] | undefined;

type Collect = readonly (LedgerEntry | undefined)[];

interface Waiter {
  /** The first collect of its pair: the first one that started after it asked. */
  from: number;
  /** Pairs it may still try after this one, while buckets move under it. */
  tries: number;
  readonly resolve: (moment: Moment) => void;
  readonly reject: (err: unknown) => void;
}

interface SkuLooks {
  /** Collects started so far: the next one's number. */
  started: number;
  readonly collects: Map<number, Collect>;
  waiters: Waiter[];
  running: boolean;
  /** When the last collect started (performance.now()). */
  lastStart: number;
}

/** Pairs a caller tries before it gives up on a moment (the SKU keeps moving). */
const pairsPerCaller = 3;

/**
 * Fresh looks at a SKU's heads at one moment, shared by every caller that wants one at the same time.
 *
 * While callers wait, one loop per SKU collects the heads (every head read fresh, at once), one collect after
 * another. A caller's moment is the pair of the first two collects that start after it asked: when the second
 * finds every bucket at the seq of the first, the first's heads all stood together between the two collects (no
 * unit moved from a bucket not yet read to one already read), at a moment after the caller asked. Consecutive
 * pairs share a collect, so however many refusals a sold-out SKU answers at once, it costs one collect per
 * collect's time, and each caller waits for two or three. When a bucket moved in between, the caller tries the
 * next pair, a few times, then gets no moment. A bucket with no head (not created yet) makes no moment.
 */
export class HeadLooks {
  private readonly skus = new Map<string, SkuLooks>();

  constructor(private readonly ledger: BucketLedger) {}

  /** How long ago a collect of the SKU's heads last started (Infinity: never). */
  sinceLastLook(sku: string): number {
    return performance.now() - (this.skus.get(sku)?.lastStart ?? -Infinity);
  }

  /** The SKU's heads at one moment after this call (undefined when none could be shown). */
  moment(sku: string, buckets: readonly BucketRef[]): Promise<Moment> {
    let looks = this.skus.get(sku);
    if (!looks) {
      looks = { started: 0, collects: new Map(), waiters: [], running: false, lastStart: -Infinity };
      this.skus.set(sku, looks);
    }
    const state = looks;
    return new Promise<Moment>((resolve, reject) => {
      state.waiters.push({ from: state.started, tries: pairsPerCaller - 1, resolve, reject });
      if (!state.running) void this.collect(state, buckets);
    });
  }

  private async collect(looks: SkuLooks, buckets: readonly BucketRef[]): Promise<void> {
    looks.running = true;
    try {
      while (looks.waiters.length > 0) {
        const n = looks.started++;
        looks.lastStart = performance.now();
        looks.collects.set(n, await Promise.all(buckets.map((b) => this.ledger.head(b, true))));
        looks.collects.delete(n - 2);
        looks.waiters = looks.waiters.filter((w) => !this.answered(looks, w, n));
      }
    } catch (err) {
      for (const w of looks.waiters.splice(0)) w.reject(err);
    } finally {
      looks.running = false;
    }
  }

  /** Whether the waiter's pair is complete with collect n, and so it was answered (or moved on to the next pair). */
  private answered(looks: SkuLooks, waiter: Waiter, n: number): boolean {
    if (waiter.from + 1 > n) return false;
    const first = looks.collects.get(waiter.from)!;
    const second = looks.collects.get(waiter.from + 1)!;
    if (first.every((h, i) => h !== undefined && h.seq === second[i]?.seq)) {
      waiter.resolve(first as LedgerEntry[]);
      return true;
    }
    if (first.some((h) => h === undefined) || waiter.tries === 0) {
      waiter.resolve(undefined);
      return true;
    }
    waiter.tries--;
    waiter.from = n;
    return false;
  }
}
