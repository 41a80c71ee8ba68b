import { allowanceBucket, type Allowances, type Buyer } from './allowances';
import type { Movement, ReceivingState } from './balances';
import type { Catalog } from './catalog';
import { InvalidStockInputError } from './errors';
import type { BucketLedger } from './ledger';
import { settleOpId, trimOpId, trimPrefixOf } from './op-keys';
import type { Summaries } from './summaries';
import type { TakeProtocol } from './take';
import type { BucketRef, Hold, ProductDoc, SettleKind, SettleResult, TakeOutcome } from './types';

/**
 * A hold's life: reserved by the take protocol, shrunk by trims, ended once by a settle (release or commit). A
 * limited SKU's hold is backed by its buyer's allowance (`allowances.ts`), which every step mirrors.
 */
export class Holds {
  constructor(
    private readonly catalog: Catalog,
    private readonly ledger: BucketLedger,
    private readonly taking: TakeProtocol,
    private readonly summaries: Summaries,
    private readonly allowances: Allowances,
    private readonly shardCount: number,
  ) {}

  /**
   * Reserves qty available (or incoming) units for the operation `holdId`, all in one bucket (a hold never spans
   * buckets). When no single bucket has qty but the SKU does, stock is first gathered into one bucket by
   * transfers. Returns the hold, `insufficient` with the units there were when every bucket was looked at, or,
   * run again after the hold was released or committed, `settled`: a settled hold is never reported open.
   *
   * For a product with `maxPerCustomer` and a buyer, the buyer's allowance is reserved first, under the same
   * hold id: `limit_reached` when it has less than qty left (no stock is touched). A stock refusal gives the
   * allowance back. Run again, each step finds what an earlier run wrote (and a stock refusal is final), so a
   * crash between the two reservations heals on retry; a run that finds an earlier run's hold trimmed or
   * settled brings the allowance up to the stock's steps first (a run that died between the two writes of a
   * trim or a settle left it behind).
   */
  async reserve(
    holdId: string,
    sku: string,
    qty: number,
    from: ReceivingState = 'available',
    buyer?: Buyer,
  ): Promise<TakeOutcome> {
    const take = () =>
      this.taking.take(holdId, sku, from === 'available' ? { kind: 'reserve', qty } : { kind: 'reserve', qty, from });
    const product = await this.catalog.product(sku);
    const limit = product.maxPerCustomer;
    if (limit === undefined || buyer === undefined) return take();
    const allowance = this.allowances.bucketOf(sku, buyer);
    // A buyer's held + bought units never exceed the limit: stock is reserved only under reserved allowance.
    const allowed = await this.allowances.reserve(allowance, limit, holdId, qty);
    if (!allowed.reserved) return { status: 'limit_reached', limit, left: allowed.left };
    const outcome = await take();
    if (outcome.status === 'insufficient') {
      await this.allowances.settle({ holdId, sku, bucket: 0, qty }, allowance, 'release');
      return outcome;
    }
    const hold = { ...outcome.hold, allowance: allowance.id };
    // Only an earlier run's hold can have moved since it was taken (this run's is whole and open).
    if (outcome.status === 'settled' || hold.qty < qty) await this.mirrorSteps(product, hold, allowance);
    return { ...outcome, hold };
  }

  /**
   * Writes on the allowance every trim and the settle the stock ledger has for an earlier run's hold, each under
   * its stock entry's key and with its qty: a step already mirrored is found, so once caught up this writes
   * nothing.
   */
  private async mirrorSteps(product: ProductDoc, taken: Hold, allowance: BucketRef): Promise<void> {
    for (const step of await this.taking.stepsAfter(product, taken)) {
      if (step.opId === settleOpId(taken.holdId)) {
        await this.allowances.settle(
          { ...taken, qty: step.qty },
          allowance,
          step.kind === 'commit' ? 'commit' : 'release',
        );
      } else {
        const keep = Number(step.opId.slice(trimPrefixOf(taken.holdId).length));
        await this.allowances.trim({ ...taken, qty: keep + step.qty }, allowance, keep);
      }
    }
  }

  /**
   * Ends a hold once: `release` gives its units back (to available, or to `to`), `commit` sells them. Both use
   * the settle key of the hold, so a release racing a commit (expiry racing checkout) has exactly one winner,
   * reported to both. A trimmed hold is settled with the qty its last trim left it.
   */
  async settle(hold: Hold, kind: SettleKind, to: ReceivingState = 'available'): Promise<SettleResult> {
    if (kind === 'commit' && to !== 'available') throw new InvalidStockInputError('only a release has a destination');
    const bucket = await this.bucketOfHold(hold);
    const movement: Movement =
      kind === 'release' && to !== 'available' ? { kind, qty: hold.qty, to } : { kind, qty: hold.qty };
    // A hold is settled at most once: one settle key per hold, unique per bucket.
    const result = await this.ledger.append(bucket, settleOpId(hold.holdId), movement, {
      ref: hold.holdId,
      findDuplicateWhenRefused: true,
    });
    this.summaries.forget(hold.sku);
    let settled: SettleResult;
    if (result.status === 'appended')
      settled = { settled: kind === 'release' ? 'released' : 'committed', byThisCall: true };
    else if (result.status === 'duplicate') {
      settled = { settled: result.entry.kind === 'commit' ? 'committed' : 'released', byThisCall: false };
    } else throw new Error(`ledger of ${bucket.id} cannot settle hold ${hold.holdId}: ${result.status}`);
    // The allowance follows the stock's one outcome, whichever settle won it (after the stock: a crash between
    // the two leaves the buyer counted for units already released, never the reverse).
    if (hold.allowance !== undefined) {
      await this.allowances.settle(
        hold,
        allowanceBucket(hold.allowance, this.shardCount),
        settled.settled === 'committed' ? 'commit' : 'release',
      );
    }
    return settled;
  }

  /**
   * Shrinks a hold to `keep` units (1..hold.qty-1): the rest are released (to available, or to `to`) by one
   * release keyed by the hold and `keep`. A hold only shrinks, so each step has its own key and a retry has one
   * effect. Needs no stock, so it works on a sold-out SKU. The caller passes the hold as its last trim left it,
   * and neither trims nor settles one hold concurrently (the ledger cannot tell a stale qty from a current one).
   */
  async trim(hold: Hold, keep: number, to: ReceivingState = 'available'): Promise<Hold> {
    if (!Number.isSafeInteger(keep) || keep < 1 || keep >= hold.qty) {
      throw new InvalidStockInputError(`a hold of ${hold.qty} can keep 1..${hold.qty - 1} units, not ${keep}`);
    }
    const bucket = await this.bucketOfHold(hold);
    const qty = hold.qty - keep;
    const result = await this.ledger.append(
      bucket,
      trimOpId(hold.holdId, keep),
      to === 'available' ? { kind: 'release', qty } : { kind: 'release', qty, to },
      { ref: hold.holdId, findDuplicateWhenRefused: true },
    );
    this.summaries.forget(hold.sku);
    if (result.status === 'duplicate' && result.entry.qty !== qty) {
      throw new InvalidStockInputError(`hold ${hold.holdId} was trimmed to ${keep} from another quantity`);
    }
    if (result.status !== 'appended' && result.status !== 'duplicate') {
      throw new Error(`ledger of ${bucket.id} cannot trim hold ${hold.holdId}: ${result.status}`);
    }
    if (hold.allowance !== undefined) {
      await this.allowances.trim(hold, allowanceBucket(hold.allowance, this.shardCount), keep);
    }
    return { ...hold, qty: keep };
  }

  /**
   * The bucket of a hold the ledger knows: recorded as taken there, with its recorded qty or, once trimmed, the
   * qty a trim left it (looked up only then, so settling an untrimmed hold costs what it always did).
   */
  private async bucketOfHold(hold: Hold): Promise<BucketRef> {
    const unknown = () => new InvalidStockInputError(`no hold ${hold.holdId} of ${hold.qty} in bucket ${hold.bucket}`);
    if (!Number.isSafeInteger(hold.qty) || hold.qty < 1) throw unknown();
    const bucket = (await this.catalog.bucketsOfSku(hold.sku))[hold.bucket];
    if (!bucket) throw unknown();
    // The entry that took it, by one read when the hold knows its seq, else as the operation's attempts decided.
    const taken =
      hold.seq === undefined
        ? await this.takenQty(hold)
        : (await this.ledger.entry(bucket, hold.seq))?.members?.find((m) => m.opId === hold.holdId)?.qty;
    if (taken === undefined || hold.qty > taken) throw unknown();
    if (hold.qty < taken && !(await this.ledger.findOwn(bucket, trimOpId(hold.holdId, hold.qty)))) throw unknown();
    return bucket;
  }

  private async takenQty(hold: Hold): Promise<number | undefined> {
    const recorded = await this.taking.outcome(hold.holdId);
    const reserved = recorded?.result === 'taken' && recorded.kind === 'reserve';
    return reserved && recorded.sku === hold.sku && recorded.bucket === hold.bucket ? recorded.qty : undefined;
  }
}
