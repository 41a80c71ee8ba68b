import type { Collection } from 'mongodb';
import { BatchedInserts, collections, insertManyOnce, insertOnce, type InsertOnce, type ShardSet } from '../db';
import type { MovableState, Movement, ReceivingState } from './balances';
import type { Catalog } from './catalog';
import { voidOf, type GroupCommit } from './group-commit';
import { HeadLooks } from './head-looks';
import { assertOpId, assertQuantity } from './input';
import type { BucketLedger } from './ledger';
import { settleOpId, trimPrefixOf } from './op-keys';
import type { Ownership } from './ownership';
import { bucketOrder } from './placement';
import type { Summaries } from './summaries';
import { inTransit, type Transfers } from './transfers';
import type { BucketRef, Hold, LedgerEntry, OpOutcome, ProductDoc, StockTakeOutcome, TakeClaimDoc } from './types';

/** Attempts of one operation before it gives up (an attempt is given up when its bucket fell short, or voided). */
const maxAttempts = 32;
/** How old a look at a SKU's heads may be for an answer at once to trust its cache (see refuseAtOnce). */
const lookMaxAgeMs = 1000;
/** How long a claim's batch may be still in flight before another run voids it. */
const inFlightMs = 2000;

/** What one attempt of an operation came to. */
type Resolved =
  | { readonly kind: 'taken'; readonly claim: TakeClaimDoc; readonly entry: LedgerEntry }
  | { readonly kind: 'refused'; readonly available: number }
  | { readonly kind: 'aborted' };

/** An attempt this run claimed (and its result), or the claim another run of the operation made first. */
type Claimed =
  { readonly mine: true; readonly result: Resolved } | { readonly mine: false; readonly doc: TakeClaimDoc };

/**
 * The exactly-once take protocol of the taking operations (a reserve or a state move): take qty units out of
 * one state of one bucket for an operation id, however often and however concurrently that id runs.
 *
 * - attempts: an operation's attempt k is one document in `ops` (`claimId(opId, k)`), inserted once: a claim
 *   of a place in one bucket's batch, or the operation's refusal. A twin or a retry that finds attempt k
 *   claimed follows it rather than take again;
 * - group commit: the claim names its batch, and the batch's one ledger entry lists the members it took stock
 *   for (`group-commit.ts`), so a first run costs one insert of its own plus its share of one entry;
 * - resolve: an attempt stands when its batch's entry lists the operation; written without it (it did not
 *   fit) or voided, the next attempt follows. A batch not written (its writer died, or is slow) is voided under
 *   its id by whoever needs the answer, so it can never be written afterwards;
 * - refuse at once: a sold-out SKU's refusal is one insert into `ops`, nothing else written;
 * - settled: a retry whose hold was since released or committed answers `settled`.
 *
 * An operation is listed in a batch only after its claim of that batch was inserted, and attempt k+1 follows
 * only once attempt k is known to have taken nothing: so at most one entry ever lists it. See
 * docs/architecture.md, "Stock ledger".
 */
export class TakeProtocol {
  private readonly looks: HeadLooks;
  private readonly refusals = new Map<number, BatchedInserts<TakeClaimDoc>>();

  constructor(
    private readonly shards: ShardSet,
    private readonly ledger: BucketLedger,
    private readonly catalog: Catalog,
    private readonly transfers: Transfers,
    private readonly summaries: Summaries,
    private readonly commits: GroupCommit<TakeClaimDoc>,
    private readonly owners: Ownership | undefined,
    private readonly clock: () => Date,
  ) {
    this.looks = new HeadLooks(ledger);
  }

  /** Takes qty units out of one state of one bucket for opId (a reserve or a state move), exactly once. */
  async take(opId: string, sku: string, movement: Movement): Promise<StockTakeOutcome> {
    assertOpId(opId);
    assertQuantity(movement.qty);
    const product = await this.catalog.product(sku);
    const refused = await this.refuseSoldOut(product, opId, movement);
    if (refused !== undefined) return { status: 'insufficient', available: refused };
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const claimed = await this.claim(product, opId, movement, attempt);
      const resolved = claimed.mine ? claimed.result : await this.resolve(product, claimed.doc);
      this.summaries.forget(sku);
      if (resolved.kind === 'aborted') continue;
      if (resolved.kind === 'refused') return { status: 'insufficient', available: resolved.available };
      const hold = holdOf(resolved.claim, resolved.entry);
      // A hold this run just took answers at once; one an earlier run took may have been trimmed or settled.
      if (claimed.mine || movement.kind !== 'reserve') return { status: 'taken', hold };
      return this.answerRecorded(product, hold);
    }
    throw new Error(`taking ${movement.qty} of ${sku} for ${opId}: no outcome after ${maxAttempts} attempts`);
  }

  /** A taking operation's result as its attempts and the ledger decided it; null while undecided. */
  async outcome(opId: string): Promise<OpOutcome | null> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const claim = await this.claimsOn(opId).findOne({ _id: claimId(opId, attempt) });
      if (!claim) return null;
      const base = { opId, sku: claim.sku, qty: claim.qty, kind: claim.kind };
      if (claim.result === 'insufficient') return { ...base, result: 'insufficient', available: claim.available ?? 0 };
      const bucket = (await this.catalog.bucketsOfSku(claim.sku))[claim.bucket!]!;
      const entry = await this.ledger.findAfter(bucket, claim.batch!, claim.afterSeq!);
      if (!entry) return null;
      if (listed(entry, opId)) return { ...base, result: 'taken', bucket: claim.bucket!, seq: entry.seq };
    }
    return null;
  }

  /**
   * The refusal at once of an operation on a sold-out SKU (see `soldOut`): the refusal is inserted as the
   * operation's attempt 0, and nothing else is written. Nothing was taken, so whichever attempt 0 is inserted
   * first stands: a run of the operation that claims later follows the refusal, and one that claimed first
   * makes the insert fail, so the full path follows that run. Returns the units the buckets had together;
   * undefined when the full path must decide. The API answers a sold-out add-to-cart with it, without a
   * workflow: the line's answer is then decided in the ledger, not only in the HTTP reply, so a retry of the
   * request whose reply was lost, or a run of the line started for the same key before it, answers the same.
   */
  async refuseAtOnce(opId: string, sku: string, movement: Movement): Promise<number | undefined> {
    assertOpId(opId);
    assertQuantity(movement.qty);
    // This process may take no stock of the SKU itself (an API apart from the workers): its cache of the heads
    // is only as new as its last look, and one showing units may be long stale.
    return this.refuseSoldOut(await this.catalog.product(sku), opId, movement, lookMaxAgeMs);
  }

  private async refuseSoldOut(
    product: ProductDoc,
    opId: string,
    movement: Movement,
    /** How old the last fresh look at the SKU's heads may be for cached heads showing units to count. */
    cacheMaxAgeMs = Infinity,
  ): Promise<number | undefined> {
    const available = await this.soldOut(product, movement, cacheMaxAgeMs);
    if (available === undefined) return undefined;
    const refusal = { ...this.claimBase(product, opId, movement, 0), result: 'insufficient' as const, available };
    // Inserted after the moment of `soldOut`: an attempt of this operation that took stock the heads no longer
    // show was claimed before its batch's entry was written, so it stands here, and the full path follows it.
    const { inserted } = await this.refusalsOn(opId).insert(refusal);
    return inserted ? available : undefined;
  }

  /**
   * The units the buckets have together, when at one moment after the call they did not have qty even together
   * (none in transit between a transfer's two entries; see HeadLooks); undefined otherwise.
   */
  private async soldOut(product: ProductDoc, movement: Movement, cacheMaxAgeMs: number): Promise<number | undefined> {
    const state = takenFrom(movement);
    const buckets = this.catalog.bucketsOf(product);
    // A moment needs every head: while a shard is cut off, the full path decides from the reachable buckets.
    if (this.outOfReach(buckets).length > 0) return undefined;
    const lookedAgo = this.looks.sinceLastLook(product.sku);
    if (lookedAgo < cacheMaxAgeMs && this.cachedCanServe(buckets, state, movement.qty)) return undefined;
    const heads = await this.looks.moment(product.sku, buckets);
    if (!heads) return undefined;
    const available = unitsIn(heads, state);
    // Units between a transfer's two entries are in no bucket's balance: the full path completes the transfer.
    if (available + inTransit(heads) >= movement.qty) return undefined;
    return available;
  }

  /** Attempt `attempt`: choose a bucket (or refuse), claim a place in its batch, and wait for the batch. */
  private async claim(product: ProductDoc, opId: string, movement: Movement, attempt: number): Promise<Claimed> {
    const claims = this.claimsOn(opId);
    const base = this.claimBase(product, opId, movement, attempt);
    const chosen = await this.choose(product, opId, movement, attempt);
    if (typeof chosen === 'number') {
      const refusal: TakeClaimDoc = { ...base, result: 'insufficient', available: chosen };
      const { inserted, stands } = await insertOnce(claims, refusal, 'read');
      return inserted ? { mine: true, result: { kind: 'refused', available: chosen } } : followed(stands, refusal._id);
    }
    const placed = await this.commits.join(chosen, movement, { opId, qty: movement.qty }, (batch, afterSeq) => ({
      ...base,
      bucket: chosen.index,
      batch,
      afterSeq,
    }));
    if (placed.status === 'lost') return followed(placed.stands, base._id);
    if (placed.status === 'aborted') return { mine: true, result: { kind: 'aborted' } };
    return { mine: true, result: { kind: 'taken', claim: placed.claim, entry: placed.entry } };
  }

  /**
   * The bucket an attempt claims a place in: this writer's own buckets first, then the others; when no head has
   * qty, every head is read at once; when no bucket has qty alone but together they do, stock is gathered into
   * the operation's own bucket first. A number is a refusal: the units the buckets had together.
   */
  private async choose(product: ProductDoc, opId: string, movement: Movement, attempt: number) {
    const state = takenFrom(movement);
    const all = this.catalog.bucketsOf(product);
    // While a shard is cut off, its buckets are left out: a walk never waits for one shard's answer, it sells
    // from the buckets it can reach and refuses when they cannot serve (see "During a partition").
    const cut = new Set(this.outOfReach(all).map((b) => b.index));
    const buckets = all.filter((b) => !cut.has(b.index));
    const order = this.order(product, buckets, opId, state);
    // A first attempt trusts the cached heads; one after an attempt that fell short reads them all again.
    const cached = attempt === 0 && order.find((b) => this.cachedCanServe([b], state, movement.qty));
    if (cached) return cached;
    // A refusal must rest on the real heads: read them all at once (one round of parallel reads).
    await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
    const fresh = order.find((b) => this.cachedCanServe([b], state, movement.qty));
    if (fresh) return fresh;
    const cachedUnits = () =>
      unitsIn(
        buckets.map((b) => this.ledger.cachedHead(b)),
        state,
      );
    let available = cachedUnits();
    const heads = buckets.map((b) => this.ledger.cachedHead(b)).filter((h): h is LedgerEntry => h !== undefined);
    if (cut.size === 0 && available < movement.qty && available + inTransit(heads) >= movement.qty) {
      // A refill or a rebalance is between a transfer's two entries (or died there): complete it, look again.
      await this.transfers.repairTransfers(product.sku);
      await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
      const again = order.find((b) => this.cachedCanServe([b], state, movement.qty));
      if (again) return again;
      available = cachedUnits();
    }
    if (cut.size === 0 && available < movement.qty) {
      // A refusal rests on the heads at one moment when one can be shown: reads at different times could miss a
      // unit that moved from a bucket not yet read to one already read. (A SKU that keeps moving shows none, and
      // the reads above stand.)
      const moment = await this.looks.moment(product.sku, buckets);
      if (moment) {
        const now = order.find((b) => this.cachedCanServe([b], state, movement.qty));
        if (now) return now;
        available = unitsIn(moment, state);
      }
    }
    const gathered = gatheredIn(movement);
    // No gathering across a partition: a transfer's retry after healing could pick another target and strand the
    // first one's units in transit. A quantity no reachable bucket has alone is refused.
    if (!gathered || available < movement.qty || cut.size > 0) return available;
    // The target is the operation's own (by its hash, not by the balances of the moment), so a run that died
    // half way through a transfer and its retry gather into the same bucket: the retry completes the transfer.
    const target = bucketOrder(buckets, opId, () => 0)[0]!;
    await this.gather(`${opId}:gather${attempt}`, buckets, target, movement.qty, gathered);
    return target; // fallen short (others took stock meanwhile), the batch does not fit and the next attempt looks again
  }

  /** The buckets on shards that did not answer their last ping. */
  private outOfReach(buckets: readonly BucketRef[]): BucketRef[] {
    return buckets.filter((b) => !this.shards.reachable(b.shard));
  }

  /**
   * This writer's own buckets in index order, then the others in the writer's order. Own buckets keep one
   * order, so this process's operations all pick the same bucket until it cannot serve them and batch together
   * (one lane of group commits), where a fullest-first order of the moment would spread them over lanes.
   */
  private order(product: ProductDoc, buckets: BucketRef[], opId: string, state: ReceivingState | MovableState) {
    const owned = this.owners?.owned(product, buckets) ?? new Set<number>();
    const balance = (b: BucketRef) => this.ledger.cachedHead(b)?.balances[state] ?? 0;
    // The others in the writer's order too (by its id), so that before it owns buckets, or once its own are
    // dry, its operations still batch together; without ownership, by the operation's id (spreading load).
    const others = bucketOrder(
      buckets.filter((b) => !owned.has(b.index)),
      this.owners?.writerId ?? opId,
      balance,
    );
    return [...buckets.filter((b) => owned.has(b.index)), ...others];
  }

  /** Moves units of `state` from other buckets into target until it holds qty (or nothing more can be had). */
  private async gather(opId: string, buckets: BucketRef[], target: BucketRef, qty: number, state: ReceivingState) {
    const head = await this.ledger.head(target, true);
    let needed = qty - (head?.balances[state] ?? 0);
    for (const source of buckets) {
      if (needed <= 0) break;
      if (source.index === target.index) continue;
      const has = (await this.ledger.head(source, true))?.balances[state] ?? 0;
      const wanted = Math.min(has, needed);
      if (wanted > 0) needed -= await this.transfers.between(opId, source, target, wanted, state);
    }
  }

  /**
   * What another run's attempt came to: a refusal, or a claim that stands when its batch's entry lists the
   * operation. A batch not found may still be in flight: after a short wait it is voided under its id (an entry
   * listing nobody), so that it can never be written afterwards and the attempt is given up for certain.
   */
  private async resolve(product: ProductDoc, claim: TakeClaimDoc): Promise<Resolved> {
    if (claim.result === 'insufficient') return { kind: 'refused', available: claim.available ?? 0 };
    const bucket = this.catalog.bucketsOf(product)[claim.bucket!]!;
    const find = () => this.ledger.findAfter(bucket, claim.batch!, claim.afterSeq!);
    let entry = await find();
    // A young batch is most likely being written: look again until it is old enough to give up on.
    // (Waiting is bounded by real time too: an injected clock may stand still.)
    const young = () => this.clock().getTime() - claim.at.getTime() < inFlightMs;
    for (let wait = 25, waited = 0; !entry && young() && waited < inFlightMs; waited += wait, wait *= 2) {
      await new Promise((r) => setTimeout(r, wait));
      entry = await find();
    }
    if (!entry) {
      const voided = await this.ledger.append(bucket, claim.batch!, voidOf);
      if (voided.status !== 'appended' && voided.status !== 'duplicate') {
        throw new Error(`cannot void batch ${claim.batch} of ${bucket.id}: ${voided.status}`);
      }
      entry = voided.entry;
    }
    return listed(entry, claim.opId) ? { kind: 'taken', claim, entry } : { kind: 'aborted' };
  }

  /** A hold an earlier run took: as its last trim left it, or `settled` once it was released or committed. */
  private async answerRecorded(product: ProductDoc, hold: Hold): Promise<StockTakeOutcome> {
    const later = await this.stepsAfter(product, hold);
    const settle = later.find((e) => e.opId === settleOpId(hold.holdId));
    // The hold as its last trim left it: settling the recorded size would release units it no longer holds.
    const now = { ...hold, qty: hold.qty - later.reduce((n, e) => n + (e === settle ? 0 : e.qty), 0) };
    if (!settle) return { status: 'taken', hold: now };
    return { status: 'settled', hold: now, settled: settle.kind === 'commit' ? 'committed' : 'released' };
  }

  /** The trims and the settle of a taken hold (it knows the seq of its entry), in seq order. */
  async stepsAfter(product: ProductDoc, hold: Hold): Promise<LedgerEntry[]> {
    const bucket = this.catalog.bucketsOf(product)[hold.bucket]!;
    const settleKey = settleOpId(hold.holdId);
    const trims = trimPrefixOf(hold.holdId);
    // Its trims and settle come after the entry that took it.
    return this.ledger.findMatching(
      bucket,
      hold.seq!,
      (e) => e.ref === hold.holdId && (e.opId === settleKey || e.opId.startsWith(trims)),
      { ref: hold.holdId },
    );
  }

  private claimBase(product: ProductDoc, opId: string, movement: Movement, attempt: number) {
    return {
      _id: claimId(opId, attempt),
      opId,
      attempt,
      sku: product.sku,
      qty: movement.qty,
      kind: movement.kind === 'reserve' ? ('reserve' as const) : ('state_change' as const),
      at: this.clock(),
    };
  }

  /** Whether some bucket's cached head has qty in state (no I/O: a hint, never a decision). */
  private cachedCanServe(buckets: readonly BucketRef[], state: ReceivingState | MovableState, qty: number): boolean {
    return buckets.some((b) => (this.ledger.cachedHead(b)?.balances[state] ?? 0) >= qty);
  }

  /** Inserts attempts of several operations, one round trip per shard they live on; see insertManyOnce. */
  async writeClaims(claims: readonly TakeClaimDoc[]): Promise<InsertOnce<TakeClaimDoc>[]> {
    const byShard = new Map<number, number[]>();
    for (const [i, c] of claims.entries()) {
      const shard = this.shards.shardFor(c.opId);
      byShard.set(shard, [...(byShard.get(shard) ?? []), i]);
    }
    const results: InsertOnce<TakeClaimDoc>[] = [];
    await Promise.all(
      [...byShard].map(async ([shard, indexes]) => {
        const col = this.shards.stockCollection<TakeClaimDoc>(shard, collections.stock.ops);
        const written = await insertManyOnce(
          col,
          indexes.map((i) => claims[i]!),
        );
        for (const [n, i] of indexes.entries()) results[i] = written[n]!;
      }),
    );
    return results;
  }

  /** Refusals at once are inserted in batches per shard (a flash sale's refusals each insert one). */
  private refusalsOn(opId: string): BatchedInserts<TakeClaimDoc> {
    const shard = this.shards.shardFor(opId);
    let writer = this.refusals.get(shard);
    if (!writer) this.refusals.set(shard, (writer = new BatchedInserts(this.claimsOn(opId))));
    return writer;
  }

  private claimsOn(opId: string): Collection<TakeClaimDoc> {
    return this.shards.stockCollection<TakeClaimDoc>(this.shards.shardFor(opId), collections.stock.ops);
  }
}

/** The `_id` of an operation's attempt: the operation id itself for the first (most operations have one). */
export function claimId(opId: string, attempt: number): string {
  return attempt === 0 ? opId : `attempt${attempt}:${opId}`;
}

/** Whether an entry lists the operation among the members it took stock for. */
function listed(entry: LedgerEntry, opId: string): boolean {
  return entry.members?.some((m) => m.opId === opId) ?? false;
}

function followed(stands: TakeClaimDoc | null, attemptId: string): Claimed {
  if (!stands) throw new Error(`attempt ${attemptId} refused without a visible attempt`);
  return { mine: false, doc: stands };
}

function holdOf(claim: TakeClaimDoc, entry: LedgerEntry): Hold {
  return { holdId: claim.opId, sku: claim.sku, bucket: claim.bucket!, qty: claim.qty, seq: entry.seq };
}

/** The units of `state` the heads hold together (a bucket with no head holds none). */
function unitsIn(heads: readonly (LedgerEntry | undefined)[], state: ReceivingState | MovableState): number {
  return heads.reduce((n, h) => n + (h?.balances[state] ?? 0), 0);
}

/** The state a taking movement takes its units from. */
function takenFrom(movement: Movement) {
  return movement.kind === 'state_change' || movement.kind === 'reserve' ? (movement.from ?? 'available') : 'available';
}

/** The state a taking movement may gather into one bucket first: reservations, and moves out of available. */
function gatheredIn(movement: Movement): ReceivingState | undefined {
  if (movement.kind === 'reserve') return movement.from ?? 'available';
  return movement.kind === 'state_change' && movement.from === 'available' ? 'available' : undefined;
}
