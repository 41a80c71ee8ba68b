import type { Collection } from 'mongodb';
import { collections, type ShardSet } from '../db';
import {
  addBalances,
  inverseOf,
  zeroBalances,
  type Balances,
  type MovableState,
  type Movement,
  type ReceivingState,
} from './balances';
import { InsufficientStockError, InvalidStockInputError, ProductConflictError, UnknownProductError } from './errors';
import { BucketLedger, isDuplicateKey, opKeyOf, type AppendResult } from './ledger';
import { bucketOrder, bucketsOf, evenSplit, skuPattern } from './placement';
import { planRebalance } from './rebalance';
import type {
  BucketRef,
  Hold,
  LedgerEntry,
  OpOutcomeDoc,
  ProductDoc,
  ProductInput,
  SettleKind,
  SettleResult,
  StockSummary,
  TakeOutcome,
} from './types';

export interface StockServiceOptions {
  readonly clock?: () => Date;
  /** How stale a display summary may be before it is recomputed from the bucket heads. */
  readonly summaryMaxAgeMs?: number;
}

/** Rounds of gathering stock into one bucket before a multi-unit reservation gives up. */
const gatherRounds = 3;

function assertQuantity(qty: number) {
  if (!Number.isSafeInteger(qty) || qty <= 0) throw new InvalidStockInputError(`quantity must be a positive integer`);
}

function assertOpId(opId: string) {
  if (typeof opId !== 'string' || opId.length === 0 || opId.length > 200) {
    throw new InvalidStockInputError('operation id must be 1..200 characters');
  }
}

/**
 * The stock ledger's operations. Every operation is idempotent by its operation id: the same id twice, even
 * concurrently from two processes, has one effect. See docs/architecture.md, "Stock ledger".
 */
export class StockService {
  readonly ledger: BucketLedger;
  private readonly products = new Map<string, ProductDoc>();
  private readonly summaries = new Map<string, StockSummary>();
  private readonly clock: () => Date;
  private readonly summaryMaxAgeMs: number;

  constructor(
    private readonly shards: ShardSet,
    options: StockServiceOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.ledger = new BucketLedger(shards, this.clock);
    this.summaryMaxAgeMs = options.summaryMaxAgeMs ?? 1000;
  }

  // ---- catalog ----------------------------------------------------------------------------------------------

  /**
   * Creates a product and its buckets, receiving `initialQuantity` split evenly over them. Idempotent by SKU:
   * creating the same definition again is a no-op; a different definition is a ProductConflictError.
   */
  async createProduct(input: ProductInput, initialQuantity: number): Promise<ProductDoc> {
    if (!skuPattern.test(input.sku)) throw new InvalidStockInputError(`invalid sku ${JSON.stringify(input.sku)}`);
    if (!Number.isSafeInteger(initialQuantity) || initialQuantity < 0) {
      throw new InvalidStockInputError('initial quantity must be a non-negative integer');
    }
    if (!Number.isInteger(input.buckets) || input.buckets < 1 || input.buckets > 64) {
      throw new InvalidStockInputError('buckets must be 1..64');
    }
    const doc: ProductDoc = {
      _id: input.sku,
      sku: input.sku,
      name: input.name,
      priceCents: input.priceCents,
      policy: input.policy,
      buckets: input.buckets,
      lowStockThreshold: input.lowStockThreshold,
      reorderQuantity: input.reorderQuantity,
      initialQuantity,
      createdAt: this.clock(),
    };
    const col = this.productsOn(this.shards.shardFor(input.sku));
    let product = doc;
    try {
      await col.insertOne(doc);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await col.findOne({ _id: input.sku });
      if (!existing || !sameDefinition(existing, doc)) throw new ProductConflictError(input.sku);
      product = existing;
    }
    const buckets = this.bucketsOf(product);
    const shares = evenSplit(initialQuantity, buckets.length);
    await Promise.all(
      buckets.map(async (bucket, i) => {
        // Written once, never changed: an insert, and a twin's insert that came first is the same document.
        await insertOnce(this.shards.stockDb(bucket.shard).collection<{ _id: string }>(collections.stock.buckets), {
          _id: bucket.id,
          sku: bucket.sku,
          index: bucket.index,
          shard: bucket.shard,
        } as { _id: string });
        await this.ledger.open(bucket, `create:${input.sku}`, shares[i]!);
      }),
    );
    this.products.set(product.sku, product);
    return product;
  }

  async product(sku: string): Promise<ProductDoc> {
    const cached = this.products.get(sku);
    if (cached) return cached;
    if (!skuPattern.test(sku)) throw new UnknownProductError(sku);
    const found = await this.productsOn(this.shards.shardFor(sku)).findOne({ _id: sku });
    if (!found) throw new UnknownProductError(sku);
    this.products.set(sku, found);
    return found;
  }

  async listProducts(): Promise<ProductDoc[]> {
    const perShard = await Promise.all(
      Array.from({ length: this.shards.size }, (_, s) => this.productsOn(s).find({}).toArray()),
    );
    return perShard.flat().sort((a, b) => a.sku.localeCompare(b.sku));
  }

  bucketsOf(product: Pick<ProductDoc, 'sku' | 'buckets'>): BucketRef[] {
    return bucketsOf(product.sku, product.buckets, this.shards.size);
  }

  // ---- holds ------------------------------------------------------------------------------------------------

  /**
   * Reserves qty available (or incoming) units for the operation `holdId`, all in one bucket (a hold never spans
   * buckets). When no single bucket has qty but the SKU does, stock is first gathered into one bucket by
   * transfers. Returns the hold, `insufficient` with the units there were when every bucket was looked at, or,
   * run again after the hold was released or committed, `settled`: a settled hold is never reported open.
   */
  reserve(holdId: string, sku: string, qty: number, from: ReceivingState = 'available'): Promise<TakeOutcome> {
    return this.take(holdId, sku, from === 'available' ? { kind: 'reserve', qty } : { kind: 'reserve', qty, from });
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
    const result = await this.ledger.append(bucket, settleOpId(hold.holdId), movement, {
      ref: hold.holdId,
      findDuplicateWhenRefused: true,
    });
    this.forgetSummary(hold.sku);
    if (result.status === 'appended')
      return { settled: kind === 'release' ? 'released' : 'committed', byThisCall: true };
    if (result.status === 'duplicate') {
      return { settled: result.entry.kind === 'commit' ? 'committed' : 'released', byThisCall: false };
    }
    throw new Error(`ledger of ${bucket.id} cannot settle hold ${hold.holdId}: ${result.status}`);
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
    this.forgetSummary(hold.sku);
    if (result.status === 'duplicate' && result.entry.qty !== qty) {
      throw new InvalidStockInputError(`hold ${hold.holdId} was trimmed to ${keep} from another quantity`);
    }
    if (result.status !== 'appended' && result.status !== 'duplicate') {
      throw new Error(`ledger of ${bucket.id} cannot trim hold ${hold.holdId}: ${result.status}`);
    }
    return { ...hold, qty: keep };
  }

  // ---- stock movements --------------------------------------------------------------------------------------

  /**
   * Receives qty new units, split evenly over the SKU's buckets. Idempotent by opId (per bucket).
   * Units for waiting backorders are received `incoming`, all into one bucket (a backorder is filled from one
   * bucket, like any hold), where only reservations from `incoming` can take them.
   */
  async restock(opId: string, sku: string, qty: number, to: ReceivingState = 'available'): Promise<number> {
    assertOpId(opId);
    assertQuantity(qty);
    const buckets = this.bucketsOf(await this.product(sku));
    // Incoming units all go to bucket 0: the backorder queue fills from one bucket and must find them together.
    const shares = to === 'available' ? evenSplit(qty, buckets.length) : buckets.map((b) => (b.index === 0 ? qty : 0));
    const movement = (share: number): Movement =>
      to === 'available' ? { kind: 'receive', qty: share } : { kind: 'receive', qty: share, to };
    const results = await Promise.all(
      buckets.map((bucket, i) => (shares[i]! > 0 ? this.ledger.append(bucket, opId, movement(shares[i]!)) : undefined)),
    );
    this.forgetSummary(sku);
    return results.reduce((sum, r) => sum + (r && 'entry' in r ? r.entry.qty : 0), 0);
  }

  /**
   * Moves up to qty available units from one bucket to another (rebalancing): a transfer_out entry in the
   * source, then a transfer_in of exactly that many in the target, both keyed by `transferOpId(opId, from, to)`.
   * Run again with the same opId, it completes a transfer that stopped half way. Returns the units moved.
   */
  async transfer(opId: string, sku: string, from: number, to: number, qty: number): Promise<number> {
    assertOpId(opId);
    assertQuantity(qty);
    const buckets = this.bucketsOf(await this.product(sku));
    const source = buckets[from];
    const target = buckets[to];
    if (!source || !target || from === to) throw new InvalidStockInputError(`cannot transfer ${from} -> ${to}`);
    return this.transferBetween(opId, source, target, qty);
  }

  /**
   * Moves qty units of one SKU between states (returned, in repair, damaged and back to available), in one
   * bucket that has them. Idempotent by opId. Throws InsufficientStockError when no bucket has qty in `from`.
   */
  async moveState(opId: string, sku: string, qty: number, from: MovableState, to: MovableState): Promise<Hold> {
    if (from === to) throw new InvalidStockInputError('from and to must differ');
    const outcome = await this.take(opId, sku, { kind: 'state_change', qty, from, to });
    if (outcome.status !== 'taken') throw new InsufficientStockError(sku, from, qty);
    return outcome.hold;
  }

  /**
   * Evens out a SKU's available stock when a bucket has fallen below a quarter of its fair share while others
   * hold more than theirs. Returns the units moved. Idempotent by opId.
   */
  async rebalance(opId: string, sku: string): Promise<number> {
    const buckets = this.bucketsOf(await this.product(sku));
    const plan = await this.rebalancePlan(buckets);
    let moved = 0;
    for (const step of plan) {
      moved += await this.transferBetween(opId, buckets[step.from]!, buckets[step.to]!, step.qty);
    }
    return moved;
  }

  /** Puts every incoming unit up for general sale (when no backorder waits any more). Idempotent by opId. */
  releaseIncoming(opId: string, sku: string): Promise<number> {
    return this.moveEveryUnit(opId, sku, 'incoming', 'available', releaseIncomingRef);
  }

  /**
   * Keeps every available unit for waiting backorders (moves it to incoming, where only the backorder queue
   * may reserve it): the mirror of releaseIncoming. Idempotent by opId. Returns the units moved.
   */
  holdForBackorders(opId: string, sku: string): Promise<number> {
    return this.moveEveryUnit(opId, sku, 'available', 'incoming', holdForBackordersRef);
  }

  /**
   * Completes every transfer whose transfer_out was written but not its transfer_in (its run died half way
   * and was never run again). Safe while transfers run: a transfer_in is keyed like its transfer_out, so it is
   * written once whoever writes it. Reads every transfer entry of the SKU (a scan on FerretDB): a repair, not
   * a hot path. Returns the units this call completed.
   */
  async repairTransfers(sku: string): Promise<number> {
    const buckets = this.bucketsOf(await this.product(sku));
    const transfers = (
      await Promise.all(buckets.map((b) => this.ledger.entries(b, ['transfer_out', 'transfer_in'])))
    ).flat();
    const received = new Set(transfers.filter((e) => e.kind === 'transfer_in').map((e) => e.opKey));
    let completed = 0;
    for (const out of transfers) {
      const target = out.kind === 'transfer_out' && out.ref !== undefined ? buckets[Number(out.ref)] : undefined;
      if (!target || received.has(opKeyOf(target.id, out.opId))) continue;
      if ((await this.completeTransfer(out, target)).status === 'appended') completed += out.qty;
    }
    this.forgetSummary(sku);
    return completed;
  }

  /**
   * Each bucket's available units as this process last saw them (no I/O; undefined for a bucket it has not
   * seen). Cheap enough to run after every reservation, to decide whether a fresh look is worth it.
   */
  cachedAvailability(product: Pick<ProductDoc, 'sku' | 'buckets'>): (number | undefined)[] {
    return this.bucketsOf(product).map((b) => this.ledger.cachedHead(b)?.balances.available);
  }

  /** Whether some bucket has run low while others hold stock (from the heads, fresh). */
  async needsRebalance(sku: string): Promise<boolean> {
    return (await this.rebalancePlan(this.bucketsOf(await this.product(sku)))).length > 0;
  }

  private async rebalancePlan(buckets: BucketRef[]) {
    const heads = await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
    return planRebalance(heads.map((h) => h?.balances.available ?? 0));
  }

  /** Moves every unit in `from` to `to`: in each bucket that has some, one state_change keyed by opId. */
  private async moveEveryUnit(
    opId: string,
    sku: string,
    from: ReceivingState,
    to: ReceivingState,
    ref: string,
  ): Promise<number> {
    assertOpId(opId);
    const buckets = this.bucketsOf(await this.product(sku));
    let moved = 0;
    for (const bucket of buckets) {
      const head = await this.ledger.head(bucket, true);
      const units = head?.balances[from] ?? 0;
      if (units === 0) continue;
      const result = await this.ledger.append(
        bucket,
        opId,
        { kind: 'state_change', qty: units, from, to },
        { ref, findDuplicateWhenRefused: true },
      );
      if (result.status === 'appended' || result.status === 'duplicate') moved += result.entry.qty;
    }
    this.forgetSummary(sku);
    return moved;
  }

  // ---- reading ----------------------------------------------------------------------------------------------

  /** Display totals for a SKU, recomputed from the bucket heads when older than the max age. */
  async summary(sku: string): Promise<StockSummary> {
    const cached = this.summaries.get(sku);
    if (cached && this.clock().getTime() - cached.refreshedAt.getTime() < this.summaryMaxAgeMs) return cached;
    const buckets = this.bucketsOf(await this.product(sku));
    const heads = await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
    const total = heads.reduce<Balances>((sum, h) => (h ? addBalances(sum, h.balances) : sum), { ...zeroBalances });
    const summary: StockSummary = {
      sku,
      available: total.available,
      incoming: total.incoming,
      held: total.held,
      sold: total.sold,
      nonSellable: { returned: total.returned, repair: total.repair, damaged: total.damaged },
      received: total.received,
      inTransit: total.transferredOut - total.transferredIn,
      refreshedAt: this.clock(),
    };
    this.summaries.set(sku, summary);
    return summary;
  }

  /** The recorded outcome of a taking operation (a reserve or a state move). */
  outcome(opId: string): Promise<OpOutcomeDoc | null> {
    return this.opsOn(opId).findOne({ _id: opId });
  }

  // ---- internals --------------------------------------------------------------------------------------------

  /**
   * Takes qty units out of one state of one bucket for opId (a reserve or a state move). The operation's
   * result is decided once, by inserting its outcome document: concurrent executions of the same opId may
   * each take stock, but only the recorded one stands and the others void what they took.
   */
  private async take(opId: string, sku: string, movement: Movement): Promise<TakeOutcome> {
    assertOpId(opId);
    assertQuantity(movement.qty);
    const product = await this.product(sku);
    const refused = await this.refuseAtOnce(product, opId, movement);
    if (refused) return refused;
    const ops = this.opsOn(opId);
    // The marker keeps the heads this run knows: the operation's entries, if any, come after them, so a retry
    // looks for them among the entries appended since (by _id) instead of querying the whole ledger.
    const marker: StartMarker & { heads: number[] } = {
      _id: startMarkerId(opId),
      sku,
      qty: movement.qty,
      heads: await this.knownHeads(product),
    };
    const firstRun = await insertOnce(ops, marker as never);
    const after = firstRun ? marker.heads : ((await ops.findOne({ _id: marker._id })) as StartMarker | null)?.heads;
    if (!firstRun) {
      const recorded = await ops.findOne({ _id: opId });
      if (recorded) return this.answerRecorded(product, opId, movement, recorded, after);
    }
    // A run that is not the first may follow one that took stock and died before recording it: adopt that.
    const earlier = firstRun ? [] : await this.ownEntries(product, opId, movement.kind, after);
    const walked = earlier[0] ? { entry: earlier[0], available: 0 } : await this.walk(product, opId, movement);
    const mine = this.outcomeDoc(opId, sku, movement, walked);
    const recorded = (await insertOnce(ops, mine)) ? mine : ((await ops.findOne({ _id: opId })) ?? mine);
    this.forgetSummary(sku);
    // A first run whose hold stands (the hot path) answers at once: nothing to void, and not settled yet.
    if (firstRun && recorded.bucket === mine.bucket) return outcomeOf(recorded);
    if (recorded !== mine) return this.answerRecorded(product, opId, movement, recorded, after);
    return this.settleStrays(product, opId, movement, recorded, after);
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
    after: readonly number[] | undefined,
  ): Promise<TakeOutcome> {
    await this.settleStrays(product, opId, movement, recorded, after);
    const outcome = outcomeOf(recorded);
    if (outcome.status !== 'taken' || movement.kind !== 'reserve') return outcome;
    const { hold } = outcome;
    // Its trims and settle come after the reservation, which comes after the heads the start marker kept.
    const bucket = this.bucketsOf(product)[hold.bucket]!;
    const settleKey = settleOpId(hold.holdId);
    const trims = trimPrefixOf(hold.holdId);
    const later = await this.ledger.findMatching(
      bucket,
      after?.[hold.bucket] ?? -1,
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
  private outcomeDoc(
    opId: string,
    sku: string,
    movement: Movement,
    walked: { entry: LedgerEntry | undefined; available: number },
  ): OpOutcomeDoc {
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
   * The bucket of a hold the ledger knows: recorded as taken there, with its recorded qty or, once trimmed, the
   * qty a trim left it (looked up only then, so settling an untrimmed hold costs what it always did).
   */
  private async bucketOfHold(hold: Hold): Promise<BucketRef> {
    const recorded = await this.outcome(hold.holdId);
    const unknown = () => new InvalidStockInputError(`no hold ${hold.holdId} of ${hold.qty} in bucket ${hold.bucket}`);
    if (
      recorded?.result !== 'taken' ||
      recorded.kind === 'state_change' ||
      recorded.sku !== hold.sku ||
      recorded.bucket !== hold.bucket ||
      !Number.isSafeInteger(hold.qty) ||
      hold.qty < 1 ||
      hold.qty > recorded.qty
    ) {
      throw unknown();
    }
    const bucket = this.bucketsOf(await this.product(hold.sku))[hold.bucket]!;
    if (hold.qty < recorded.qty && !(await this.ledger.findOwn(bucket, trimOpId(hold.holdId, hold.qty)))) {
      throw unknown();
    }
    return bucket;
  }

  /** Each bucket's head seq as this process knows it (read fresh where it knows none; -1 if unopened). */
  private async knownHeads(product: ProductDoc): Promise<number[]> {
    return Promise.all(
      this.bucketsOf(product).map(
        async (b) => (this.ledger.cachedHead(b) ?? (await this.ledger.head(b, true)))?.seq ?? -1,
      ),
    );
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
    const buckets = this.bucketsOf(product);
    if (this.cachedCanServe(buckets, state, movement.qty)) return undefined;
    const ops = this.opsOn(opId);
    const [marker, ...heads] = await Promise.all([
      ops.findOne({ _id: startMarkerId(opId) }, { projection: { _id: 1 } }),
      ...buckets.map((b) => this.ledger.head(b, true)),
    ]);
    if (marker || heads.some((h) => h === undefined)) return undefined;
    const available = heads.reduce((sum, h) => sum + h!.balances[state], 0);
    if (available >= movement.qty) return undefined;
    const refusal = this.outcomeDoc(opId, product.sku, movement, { entry: undefined, available });
    if (await insertOnce(ops, refusal)) return outcomeOf(refusal);
    return outcomeOf((await ops.findOne({ _id: opId })) ?? refusal);
  }

  /** Tries the buckets in order; when none has qty alone but together they do, gathers stock and tries again. */
  private async walk(product: ProductDoc, opId: string, movement: Movement) {
    const state = takenFrom(movement);
    const gathered = gatheredIn(movement);
    const buckets = this.bucketsOf(product);
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
      if (wanted > 0) needed -= await this.transferBetween(opId, source, target, wanted, state);
    }
  }

  /**
   * Moves up to qty units of `state` from source to target: a transfer_out, then a transfer_in of as many.
   * Both are keyed by the operation, the source and the target: a run of the operation that picks another
   * target moves other units rather than receive these twice, and a run again completes a half-done transfer.
   */
  private async transferBetween(
    opId: string,
    source: BucketRef,
    target: BucketRef,
    qty: number,
    state: ReceivingState = 'available',
  ): Promise<number> {
    const key = transferOpId(opId, source.index, target.index);
    const send = (units: number): Movement =>
      state === 'available' ? { kind: 'transfer_out', qty: units } : { kind: 'transfer_out', qty: units, from: state };
    const options = { ref: String(target.index), findDuplicateWhenRefused: true };
    let out = await this.ledger.append(source, key, send(qty), options);
    if (out.status === 'insufficient' && out.head.balances[state] > 0) {
      // The source shrank since the plan: move what it still has.
      out = await this.ledger.append(source, key, send(out.head.balances[state]), options);
    }
    if (out.status !== 'appended' && out.status !== 'duplicate') return 0;
    await this.completeTransfer(out.entry, target);
    this.forgetSummary(source.sku);
    return out.entry.qty;
  }

  /** Writes the transfer_in of a transfer_out, into the state it left; it cannot be refused: it only adds. */
  private completeTransfer(out: LedgerEntry, target: BucketRef): Promise<AppendResult> {
    const from = out.movement.kind === 'transfer_out' ? out.movement.from : undefined;
    const movement: Movement = from
      ? { kind: 'transfer_in', qty: out.qty, to: from }
      : { kind: 'transfer_in', qty: out.qty };
    return this.ledger.append(target, out.opId, movement, { ref: String(bucketIndexOf(out)) });
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
    after: readonly number[] | undefined,
  ) {
    const strays = (await this.ownEntries(product, opId, movement.kind, after)).filter(
      (e) => recorded.result !== 'taken' || bucketIndexOf(e) !== recorded.bucket,
    );
    const buckets = this.bucketsOf(product);
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
    after: readonly number[] | undefined,
  ): Promise<LedgerEntry[]> {
    const found = await Promise.all(
      this.bucketsOf(product).map((b, i) => this.ledger.findOwn(b, opId, after?.[i] ?? -1)),
    );
    return found.filter((e): e is LedgerEntry => e !== null && e.kind === kind);
  }

  /** Whether some bucket's cached head has qty in state (no I/O: a hint, never a decision). */
  private cachedCanServe(buckets: readonly BucketRef[], state: ReceivingState | MovableState, qty: number): boolean {
    return buckets.some((b) => (this.ledger.cachedHead(b)?.balances[state] ?? 0) >= qty);
  }

  private forgetSummary(sku: string) {
    this.summaries.delete(sku);
  }

  private productsOn(shard: number): Collection<ProductDoc> {
    return this.shards.stockDb(shard).collection<ProductDoc>(collections.stock.products);
  }

  private opsOn(opId: string): Collection<OpOutcomeDoc> {
    return this.shards.stockDb(this.shards.shardFor(opId)).collection<OpOutcomeDoc>(collections.stock.ops);
  }
}

/** Marks the state changes that put incoming units on general sale: bulk moves, not taking operations. */
export const releaseIncomingRef = 'incoming-to-available';
/** Marks the state changes that keep available units for backorders: bulk moves, not taking operations. */
export const holdForBackordersRef = 'available-to-incoming';

/** The key under which a hold (or a voided stray) is settled: one settle per hold per bucket. */
export function settleOpId(holdId: string): string {
  return `settle:${holdId}`;
}

/** The key of a release that shrinks a hold to `keep` units: a hold only shrinks, so one key per step. */
export function trimOpId(holdId: string, keep: number): string {
  return `${trimPrefixOf(holdId)}${keep}`;
}

function trimPrefixOf(holdId: string): string {
  return `trim:${holdId}:`;
}

/** The key of one transfer's two entries: by operation, source and target, so one transfer_out has one transfer_in. */
export function transferOpId(opId: string, from: number, to: number): string {
  return `${opId}:${from}>${to}`;
}

/** Written once by a taking operation's full path before it may take stock (see take). */
interface StartMarker {
  readonly _id: string;
  readonly sku: string;
  readonly qty: number;
  /** Per bucket, a seq the operation's entries come after (older markers have none: look further back). */
  readonly heads?: number[];
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

function bucketIndexOf(entry: LedgerEntry): number {
  return Number(entry.bucketId.slice(entry.bucketId.lastIndexOf('#') + 1));
}

function outcomeOf(doc: OpOutcomeDoc): TakeOutcome {
  return doc.result === 'taken'
    ? { status: 'taken', hold: { holdId: doc._id, sku: doc.sku, bucket: doc.bucket!, qty: doc.qty } }
    : { status: 'insufficient', available: doc.available ?? 0 };
}

/** Inserts a document that must exist once; false when it already did. */
async function insertOnce<T extends { _id: string }>(col: Collection<T>, doc: T): Promise<boolean> {
  try {
    await col.insertOne(doc as never);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

function sameDefinition(a: ProductDoc, b: ProductDoc): boolean {
  const keys = [
    'name',
    'priceCents',
    'policy',
    'buckets',
    'lowStockThreshold',
    'reorderQuantity',
    'initialQuantity',
  ] as const;
  return keys.every((k) => a[k] === b[k]);
}
