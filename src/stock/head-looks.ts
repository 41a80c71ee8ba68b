import type { BucketLedger } from './ledger';
import type { BucketRef, LedgerEntry } from './types';

/** A SKU's heads as they all stood at one moment, or undefined when some bucket moved while they were read. */
export type Moment = readonly LedgerEntry[] | undefined;

/**
 * Fresh looks at a SKU's heads, shared by the callers that want one at the same time: a caller joins the next
 * look that starts after it asked (never one already under way, which may have read before it asked), so at
 * most one look per SKU is in flight and one waits, however many refusals a sold-out SKU answers at once.
 *
 * A look reads every head twice, and counts only when the second read finds every bucket at the seq of the
 * first: then the first read's heads all stood together between the two reads (no unit moved from a bucket not
 * yet read to one already read). A bucket with no head (not created yet) makes no moment either.
 */
export class HeadLooks {
  private readonly looks = new Map<string, { running?: Promise<Moment>; queued?: Promise<Moment> }>();

  constructor(private readonly ledger: BucketLedger) {}

  /** The SKU's heads at one moment after this call. */
  moment(sku: string, buckets: readonly BucketRef[]): Promise<Moment> {
    let look = this.looks.get(sku);
    if (!look) this.looks.set(sku, (look = {}));
    const state = look;
    if (state.queued) return state.queued;
    const start = () => {
      const running = this.read(buckets).finally(() => {
        if (state.running === running) state.running = undefined;
      });
      state.running = running;
      return running;
    };
    if (!state.running) return start();
    state.queued = state.running
      .catch(() => undefined)
      .then(() => {
        state.queued = undefined;
        return start();
      });
    return state.queued;
  }

  private async read(buckets: readonly BucketRef[]): Promise<Moment> {
    const heads = await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
    if (heads.some((h) => h === undefined)) return undefined;
    const again = await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
    return again.every((h, i) => h?.seq === heads[i]!.seq) ? (heads as LedgerEntry[]) : undefined;
  }
}
