import type { Movement, ReceivingState } from './balances';
import type { Catalog } from './catalog';
import { InvalidStockInputError } from './errors';
import { assertOpId, assertQuantity } from './input';
import { opKeyOf, type AppendResult, type BucketLedger } from './ledger';
import { transferOpId } from './op-keys';
import { bucketIndexOf } from './placement';
import { planRebalance } from './rebalance';
import type { Summaries } from './summaries';
import type { BucketRef, LedgerEntry } from './types';

/**
 * Units sent by transfer_outs the heads show and not yet received by their transfer_ins: an upper bound of what a
 * repair could bring back into some state (which state does not matter to a refusal that must not happen).
 */
export function inTransit(heads: readonly LedgerEntry[]): number {
  return heads.reduce((n, h) => n + h.balances.transferredOut - h.balances.transferredIn, 0);
}

/**
 * Stock moved between buckets of one SKU: a transfer_out in the source, then a transfer_in of as many in the
 * target, both keyed `transferOpId(opId, from, to)`. Used by rebalancing, by the take protocol's gathering, and
 * by the repair that completes a transfer whose run died between its two entries.
 */
export class Transfers {
  constructor(
    private readonly catalog: Catalog,
    private readonly ledger: BucketLedger,
    private readonly summaries: Summaries,
  ) {}

  /**
   * Moves up to qty available units from one bucket to another (rebalancing): a transfer_out entry in the
   * source, then a transfer_in of exactly that many in the target, both keyed by `transferOpId(opId, from, to)`.
   * Run again with the same opId, it completes a transfer that stopped half way. Returns the units moved.
   */
  async transfer(opId: string, sku: string, from: number, to: number, qty: number): Promise<number> {
    assertOpId(opId);
    assertQuantity(qty);
    const buckets = await this.catalog.bucketsOfSku(sku);
    const source = buckets[from];
    const target = buckets[to];
    if (!source || !target || from === to) throw new InvalidStockInputError(`cannot transfer ${from} -> ${to}`);
    return this.between(opId, source, target, qty);
  }

  /**
   * Moves up to qty units of `state` from source to target: a transfer_out, then a transfer_in of as many.
   * Both are keyed by the operation, the source and the target: a run of the operation that picks another
   * target moves other units rather than receive these twice, and a run again completes a half-done transfer.
   */
  async between(
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
    await this.complete(out.entry, target);
    this.summaries.forget(source.sku);
    return out.entry.qty;
  }

  /**
   * Completes every transfer whose transfer_out was written but not its transfer_in (its run died half way
   * and was never run again). Safe while transfers run: a transfer_in is keyed like its transfer_out, so it is
   * written once whoever writes it. Returns the units this call completed.
   *
   * Finding the half-done ones reads every transfer entry of the SKU, a scan of the shard's whole ledger on
   * FerretDB that grows with every movement (at 2 shoppers/s it passed the activity's 20 s time-out after 12
   * minutes, and its retries then saturated the shard). So it is done only when the SKU's fresh heads say
   * some units are in transit: every transfer_out counts in its bucket's `transferredOut`, every transfer_in
   * in its target's `transferredIn`, and the two totals are equal when none is half done. Heads read while a
   * transfer runs may miss one for this call; at rest the totals are exact.
   */
  async repairTransfers(sku: string): Promise<number> {
    const buckets = await this.catalog.bucketsOfSku(sku);
    const heads = await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
    if (inTransit(heads.filter((h): h is LedgerEntry => h !== undefined)) <= 0) return 0;
    const transfers = (
      await Promise.all(buckets.map((b) => this.ledger.entries(b, ['transfer_out', 'transfer_in'])))
    ).flat();
    const received = new Set(transfers.filter((e) => e.kind === 'transfer_in').map((e) => e.opKey));
    let completed = 0;
    for (const out of transfers) {
      const target = out.kind === 'transfer_out' && out.ref !== undefined ? buckets[Number(out.ref)] : undefined;
      if (!target || received.has(opKeyOf(target.id, out.opId))) continue;
      if ((await this.complete(out, target)).status === 'appended') completed += out.qty;
    }
    this.summaries.forget(sku);
    return completed;
  }

  /**
   * Evens out a SKU's available stock when a bucket has fallen below a quarter of its fair share while others
   * hold more than theirs. Returns the units moved. Idempotent by opId.
   */
  async rebalance(opId: string, sku: string): Promise<number> {
    const buckets = await this.catalog.bucketsOfSku(sku);
    const plan = await this.rebalancePlan(buckets);
    let moved = 0;
    for (const step of plan) {
      moved += await this.between(opId, buckets[step.from]!, buckets[step.to]!, step.qty);
    }
    return moved;
  }

  /**
   * Refills a writer's own buckets (`owned`) when one has run below a quarter of the fair share (available
   * units / buckets) while a bucket of another writer holds more than the share: from the fullest such bucket,
   * as much as evens the two out. The owner asks in the background, so no shopper waits for it; a writer that
   * dies half way leaves a transfer that repairTransfers completes. Returns the units moved.
   */
  async refill(opId: string, sku: string, owned: ReadonlySet<number>): Promise<number> {
    const buckets = await this.catalog.bucketsOfSku(sku);
    const cached = buckets.map((b) => this.ledger.cachedHead(b)?.balances.available);
    const cachedTotal = cached.reduce<number>((n, a) => n + (a ?? 0), 0);
    if (owned.size === 0 || ![...owned].some((i) => (cached[i] ?? 0) < cachedTotal / buckets.length / 4)) return 0;
    const available = (await Promise.all(buckets.map((b) => this.ledger.head(b, true)))).map(
      (h) => h?.balances.available ?? 0,
    );
    const share = available.reduce((n, a) => n + a, 0) / buckets.length;
    const target = [...owned].sort((a, b) => available[a]! - available[b]!)[0]!;
    const sources = available.flatMap((a, i) => (owned.has(i) || a <= share ? [] : [i]));
    const source = sources.sort((a, b) => available[b]! - available[a]!)[0];
    if (source === undefined || available[target]! >= share / 4) return 0;
    const qty = Math.floor(Math.min(available[source]! - share, share - available[target]!));
    return qty < 1 ? 0 : this.between(opId, buckets[source]!, buckets[target]!, qty);
  }

  /** Whether some bucket has run low while others hold stock (from the heads, fresh). */
  async needsRebalance(sku: string): Promise<boolean> {
    return (await this.rebalancePlan(await this.catalog.bucketsOfSku(sku))).length > 0;
  }

  private async rebalancePlan(buckets: BucketRef[]) {
    const heads = await Promise.all(buckets.map((b) => this.ledger.head(b, true)));
    return planRebalance(heads.map((h) => h?.balances.available ?? 0));
  }

  /** Writes the transfer_in of a transfer_out, into the state it left; it cannot be refused: it only adds. */
  private complete(out: LedgerEntry, target: BucketRef): Promise<AppendResult> {
    const from = out.movement.kind === 'transfer_out' ? out.movement.from : undefined;
    const movement: Movement = from
      ? { kind: 'transfer_in', qty: out.qty, to: from }
      : { kind: 'transfer_in', qty: out.qty };
    return this.ledger.append(target, out.opId, movement, { ref: String(bucketIndexOf(out)) });
  }
}
