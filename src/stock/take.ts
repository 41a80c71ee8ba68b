import type { Collection } from 'mongodb';
import { collections, insertOnce, type ShardSet } from '../db';
import { inverseOf, type MovableState, type Movement, type ReceivingState } from './balances';
import type { Catalog } from './catalog';
import { assertOpId, assertQuantity } from './input';
import type { AppendResult, BucketLedger } from './ledger';
import { settleOpId, trimPrefixOf } from './op-keys';
import { bucketIndexOf, bucketOrder } from './placement';
import type { Summaries } from './summaries';
import type { Transfers } from './transfers';
import type { BucketRef, LedgerEntry, OpOutcomeDoc, ProductDoc, TakeOutcome } from './types';

/** Rounds of gathering stock into one bucket before a multi-unit reservation gives up. */
const gatherRounds = 3;

/** Written once by a taking operation's full path before it may take stock (see take). */
interface StartMarker {
  readonly _id: string;
  readonly sku: string;
  readonly qty: number;
  /** Per bucket of the SKU (a product's buckets never change), a seq the operation's entries come after. */
  readonly heads: readonly number[];
}

/** What a walk over the buckets found: the entry it took (or adopted), or the units there were instead. */
interface Walked {
  readonly entry: LedgerEntry | undefined;
  readonly available: number;
}

/**
 * The exactly-once take protocol of the taking operations (a reserve or a state move): take qty units out of
 * one state of one bucket for an operation id, however often and however concurrently that id runs.
 *
 * - refuse at once: a sold-out SKU's refusal is one insert into `ops`, nothing else written;
 * - start marker: `start:<opId>` is written before a run may take stock, keeping the heads it knew;
 * - walk: try the buckets in order, and gather stock into one bucket when only together they have it;
 * - record: the first outcome inserted into `ops` (`_id = opId`) is the operation's result;
 * - strays: any other run's entries are voided under the settle key;
 * - settled: a retry whose recorded hold was since released or committed answers `settled`.
 *
 * See docs/architecture.md, "Stock ledger".
 */
export class TakeProtocol {
  constructor(
    private readonly shards: ShardSet,
    private readonly ledger: BucketLedger,
    private readonly catalog: Catalog,
    private readonly transfers: Transfers,
    private readonly summaries: Summaries,
    private readonly clock: () => Date,
  ) {}

  /**
   * Takes qty units out of one state of one bucket for opId (a reserve or a state move). The operation's
   * result is decided once, by inserting its outcome document: concurrent executions of the same opId may
   * each take stock, but only the recorded one stands and the others void what they took.
   */
  async take(opId: string, sku: string, movement: Movement): Promise<TakeOutcome> {
    assertOpId(opId);
    assertQuantity(movement.qty);
    const product = await this.catalog.product(sku);
    const refused = await this.refuseAtOnce(product, opId, movement);
    if (refused) return refused;
    const ops = this.opsOn(opId);
    // The marker keeps the heads this run knows: the operation's entries, if any, come after them, so a retry
    // looks for them among the entries appended since (by _id) instead of querying the whole ledger.
    const marker: StartMarker = {
      _id: startMarkerId(opId),
      sku,
      qty: movement.qty,
      heads: await this.knownHeads(product),
    };
    const { inserted: firstRun, stands: started } = await insertOnce(this.markersOn(opId), marker, 'read');
    if (!started) throw new Error(`start marker insert refused for ${opId} without a visible marker`);
    const after = started.heads;
    if (!firstRun) {
      const recorded = await ops.findOne({ _id: opId });
      if (recorded) return this.answerRecorded(product, opId, movement, recorded, after);
    }
    // A run that is not the first may follow one that took stock and died before recording it: adopt that.
    const earlier = firstRun ? [] : await this.ownEntries(product, opId, movement.kind, after);
    const walked = earlier[0] ? { entry: earlier[0], available: 0 } : await this.walk(product, opId, movement);
    const mine = this.outcomeDoc(opId, sku, movement, walked);
    // The operation's result is the outcome inserted first; every other run voids what it took.
    const { inserted, stands } = await insertOnce(ops, mine, 'read');
    const recorded = stands ?? mine;
    this.summaries.forget(sku);
    // A first run whose hold stands (the hot path) answers at once: nothing to void, and not settled yet.
    if (firstRun && recorded.bucket === mine.bucket) return outcomeOf(recorded);
    if (!inserted && stands) return this.answerRecorded(product, opId, movement, recorded, after);
    return this.settleStrays(product, opId, movement, recorded, after);
  }

  /** The recorded outcome of a taking operation (a reserve or a state move). */
  outcome(opId: string): Promise<OpOutcomeDoc | null> {
    return this.opsOn(opId).findOne({ _id: opId });
  }

  /**
   * The refusal of a sold-out SKU, without the start marker: when the fresh heads show that the buckets do not
   * have qty even together, the refusal is recorded as the operation's outcome by one insert. Nothing was taken,
   * so whatever outcome is recorded first stands: a twin that starts later and takes stock finds this refusal
   * when it records its own outcome, and voids what it took. A run of this operation that started earlier (its
   * marker exists) may hold stock this one cannot see, so then the full path runs, to adopt or void it.
   * Returns undefined when the full path must decide.
   */
  private async refuseAtOnce(product: ProductDoc, opId: string, movement: Movement): Promise<TakeOutcome | undefined> {
    const state = takenFrom(movement);
    const buckets = this.catalog.bucketsOf(product);
    if (this.cachedCanServe(buckets, state, movement.qty)) return undefined;
    const [marker, ...heads] = await Promise.all([
      this.markersOn(opId).findOne({ _id: startMarkerId(opId) }, { projection: { _id: 1 } }),
      ...buckets.map((b) => this.ledger.head(b, true)),
    ]);
    if (marker || heads.some((h) => h === undefined)) return undefined;
    const available = heads.reduce((sum, h) => sum + h!.balances[state], 0);
    if (available >= movement.qty) return undefined;
    const refusal = this.outcomeDoc(opId, product.sku, movement, { entry: undefined, available });
    return outcomeOf((await insertOnce(this.opsOn(opId), refusal, 'read')).stands ?? refusal);
  }

  /** Tries the buckets in order; when none has qty alone but together they do, gathers stock and tries again. */
  private async walk(product: ProductDoc, opId: string, movement: Movement): Promise<Walked> {
    const state = takenFrom(movement);
    const gathered = gatheredIn(movement);
    const buckets = this.catalog.bucketsOf(product);
    let available = 0;
    for (let round = 0; round < gatherRounds; round++) {
      const order = bucketOrder(buckets, opId, (b) => this.ledger.cachedHead(b)?.balances[state] ?? 0);
      // When no cached head has the stock, read every head at once: a refusal (a sold-out SKU under load)
      // then costs one round of parallel reads instead of one read per bucket in turn.
      const cachedHasIt = this.cachedCanServe(order, state, movement.qty);
      if (!cachedHasIt) await Promise.all(order.map((b) => this.ledger.head(b, true)));
      available = 0;
      for (const bucket of order) {
        const result: AppendResult = await this.ledger.append(bucket, opId, movement, { headIsFresh: !cachedHasIt });
        if (result.status === 'appended' || result.status === 'duplicate') return { entry: result.entry, available };
        if (result.status === 'insufficient') available += result.head.balances[state];
      }
      if (!gathered || available < movement.qty) break;
      // The target is the operation's own (by its hash, not by the balances of the moment), so a run that died
      // half way through a transfer and its retry gather into the same bucket: the retry completes the transfer.
      const target = bucketOrder(buckets, opId, () => 0)[0]!;
      await this.gather(`${opId}:gather${round}`, buckets, target, movement.qty, gathered);
    }
    return { entry: undefined, available };
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
   * The answer to a run that found another run's outcome recorded: that outcome, after voiding whatever this
   * operation took elsewhere; a hold as its trims left it, or `settled` once it was released or committed.
   */
  private async answerRecorded(
    product: ProductDoc,
    opId: string,
    movement: Movement,
    recorded: OpOutcomeDoc,
    after: readonly number[],
  ): Promise<TakeOutcome> {
    await this.settleStrays(product, opId, movement, recorded, after);
    const outcome = outcomeOf(recorded);
    if (outcome.status !== 'taken' || movement.kind !== 'reserve') return outcome;
    const { hold } = outcome;
    // Its trims and settle come after the reservation, which comes after the heads the start marker kept.
    const bucket = this.catalog.bucketsOf(product)[hold.bucket]!;
    const settleKey = settleOpId(hold.holdId);
    const trims = trimPrefixOf(hold.holdId);
    const later = await this.ledger.findMatching(
      bucket,
      after[hold.bucket]!,
      (e) => e.ref === hold.holdId && (e.opId === settleKey || e.opId.startsWith(trims)),
      { ref: hold.holdId },
    );
    const settle = later.find((e) => e.opId === settleKey);
    // The hold as its last trim left it: settling the recorded size would release units it no longer holds.
    const now = { ...hold, qty: hold.qty - later.reduce((n, e) => n + (e === settle ? 0 : e.qty), 0) };
    if (!settle) return { status: 'taken', hold: now };
    return { status: 'settled', hold: now, settled: settle.kind === 'commit' ? 'committed' : 'released' };
  }

  /** The outcome document a taking operation records: the entry it took, or the units it found instead. */
  private outcomeDoc(opId: string, sku: string, movement: Movement, walked: Walked): OpOutcomeDoc {
    return {
      _id: opId,
      sku,
      qty: movement.qty,
      kind: movement.kind === 'reserve' ? 'reserve' : 'state_change',
      ...(walked.entry
        ? { result: 'taken', bucket: bucketIndexOf(walked.entry) }
        : { result: 'insufficient', available: walked.available }),
      at: this.clock(),
    };
  }

  /**
   * Voids every entry of opId except the recorded one (units taken by a losing concurrent execution), with the
   * inverse movement under the settle key, so a void and a later settle of the same entry cannot both happen.
   */
  private async settleStrays(
    product: ProductDoc,
    opId: string,
    movement: Movement,
    recorded: OpOutcomeDoc,
    after: readonly number[],
  ) {
    const strays = (await this.ownEntries(product, opId, movement.kind, after)).filter(
      (e) => recorded.result !== 'taken' || bucketIndexOf(e) !== recorded.bucket,
    );
    const buckets = this.catalog.bucketsOf(product);
    for (const stray of strays) {
      await this.ledger.append(buckets[bucketIndexOf(stray)]!, settleOpId(opId), inverseOf(stray.movement), {
        ref: opId,
        findDuplicateWhenRefused: true,
      });
    }
    return outcomeOf(recorded);
  }

  /**
   * This operation's entries of one kind across the SKU's buckets (retries and repairs only). `after` holds
   * the heads its start marker recorded: its entries come after them.
   */
  private async ownEntries(
    product: ProductDoc,
    opId: string,
    kind: Movement['kind'],
    after: readonly number[],
  ): Promise<LedgerEntry[]> {
    const found = await Promise.all(
      this.catalog.bucketsOf(product).map((b, i) => this.ledger.findOwn(b, opId, after[i]!)),
    );
    return found.filter((e): e is LedgerEntry => e !== null && e.kind === kind);
  }

  /** Each bucket's head seq as this process knows it (read fresh where it knows none; -1 if unopened). */
  private async knownHeads(product: ProductDoc): Promise<number[]> {
    return Promise.all(
      this.catalog
        .bucketsOf(product)
        .map(async (b) => (this.ledger.cachedHead(b) ?? (await this.ledger.head(b, true)))?.seq ?? -1),
    );
  }

  /** Whether some bucket's cached head has qty in state (no I/O: a hint, never a decision). */
  private cachedCanServe(buckets: readonly BucketRef[], state: ReceivingState | MovableState, qty: number): boolean {
    return buckets.some((b) => (this.ledger.cachedHead(b)?.balances[state] ?? 0) >= qty);
  }

  private opsOn(opId: string): Collection<OpOutcomeDoc> {
    return this.shards.stockDb(this.shards.shardFor(opId)).collection<OpOutcomeDoc>(collections.stock.ops);
  }

  /** The start markers share `ops` with the outcomes, on the operation's shard (`_id = start:<opId>`). */
  private markersOn(opId: string): Collection<StartMarker> {
    return this.shards.stockDb(this.shards.shardFor(opId)).collection<StartMarker>(collections.stock.ops);
  }
}

/** The marker a taking operation's full path writes before it may take stock (see take). */
function startMarkerId(opId: string): string {
  return `start:${opId}`;
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

function outcomeOf(doc: OpOutcomeDoc): TakeOutcome {
  return doc.result === 'taken'
    ? { status: 'taken', hold: { holdId: doc._id, sku: doc.sku, bucket: doc.bucket!, qty: doc.qty } }
    : { status: 'insufficient', available: doc.available ?? 0 };
}
