import type { MovableState, Movement, ReceivingState } from './balances';
import type { Catalog } from './catalog';
import { InsufficientStockError, InvalidStockInputError } from './errors';
import { assertOpId, assertQuantity } from './input';
import type { BucketLedger } from './ledger';
import { holdForBackordersRef, releaseIncomingRef } from './op-keys';
import { evenSplit } from './placement';
import type { Summaries } from './summaries';
import type { TakeProtocol } from './take';
import type { Hold } from './types';

/**
 * Units received into a state, and moved between states: a restock, a move of some units (returned, repair,
 * damaged) by the take protocol, and the bulk moves between available and incoming for the backorder queue.
 */
export class StateMoves {
  constructor(
    private readonly catalog: Catalog,
    private readonly ledger: BucketLedger,
    private readonly taking: TakeProtocol,
    private readonly summaries: Summaries,
  ) {}

  /**
   * Receives qty new units, split evenly over the SKU's buckets. Idempotent by opId (per bucket).
   * Units for waiting backorders are received `incoming`, all into one bucket (a backorder is filled from one
   * bucket, like any hold), where only reservations from `incoming` can take them.
   */
  async restock(opId: string, sku: string, qty: number, to: ReceivingState = 'available'): Promise<number> {
    assertOpId(opId);
    assertQuantity(qty);
    const buckets = await this.catalog.bucketsOfSku(sku);
    // Incoming units all go to bucket 0: the backorder queue fills from one bucket and must find them together.
    const shares = to === 'available' ? evenSplit(qty, buckets.length) : buckets.map((b) => (b.index === 0 ? qty : 0));
    const movement = (share: number): Movement =>
      to === 'available' ? { kind: 'receive', qty: share } : { kind: 'receive', qty: share, to };
    const results = await Promise.all(
      buckets.map((bucket, i) => (shares[i]! > 0 ? this.ledger.append(bucket, opId, movement(shares[i]!)) : undefined)),
    );
    this.summaries.forget(sku);
    return results.reduce((sum, r) => sum + (r && 'entry' in r ? r.entry.qty : 0), 0);
  }

  /**
   * Moves qty units of one SKU between states (returned, in repair, damaged and back to available), in one
   * bucket that has them. Idempotent by opId. Throws InsufficientStockError when no bucket has qty in `from`.
   */
  async moveState(opId: string, sku: string, qty: number, from: MovableState, to: MovableState): Promise<Hold> {
    if (from === to) throw new InvalidStockInputError('from and to must differ');
    const outcome = await this.taking.take(opId, sku, { kind: 'state_change', qty, from, to });
    if (outcome.status !== 'taken') throw new InsufficientStockError(sku, from, qty);
    return outcome.hold;
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

  /** Moves every unit in `from` to `to`: in each bucket that has some, one state_change keyed by opId. */
  private async moveEveryUnit(
    opId: string,
    sku: string,
    from: ReceivingState,
    to: ReceivingState,
    ref: string,
  ): Promise<number> {
    assertOpId(opId);
    const buckets = await this.catalog.bucketsOfSku(sku);
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
    this.summaries.forget(sku);
    return moved;
  }
}
