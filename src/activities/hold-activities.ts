import { CartLineStore } from '../carts';
import { unitsReturnedSignal } from '../contract/messages';
import { routesThroughQueue } from '../contract/stock-routing';
import type { CartLine } from '../contract/types';
import type { Buyer } from '../stock/allowances';
import type { ReceivingState } from '../stock/balances';
import type { Hold, SettleKind, SettleResult, TakeOutcome } from '../stock/types';
import type { ActivityDeps } from './deps';
import { publishEvent } from './event-activities';
import { afterStockTaken } from './replenish-activities';
import { afterSellableTaken, afterStockReceived } from './stock-episode-activities';
import { signalQueue } from './workflow-starts';

export interface ProductInfo {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly policy: 'strict' | 'backorder';
  readonly lowStockThreshold: number;
  readonly reorderQuantity: number;
  /** The product's waitlist offer window (strict SKUs with a waitlist). */
  readonly offerSeconds?: number;
}

/** A cart line's stock and its stored row: reserving, settling and trimming holds, saving the line. */
export function holdActivities(deps: ActivityDeps) {
  const { stock } = deps;
  const cartLines = new CartLineStore(deps.shards);

  /**
   * Where released units of a SKU go: a backorder SKU's and a waitlist SKU's go back `incoming`, for its queue to
   * give to the waiting first (and to put on sale if nobody waits); everyone else's are available again at once.
   */
  async function releaseTarget(sku: string): Promise<ReceivingState> {
    return routesThroughQueue(await stock.product(sku)) ? 'incoming' : 'available';
  }

  /** Units given back go to the SKU's queue, or, back on sale, may end its sold-out episode. */
  async function afterRelease(sku: string, to: ReceivingState) {
    if (to === 'incoming') await signalQueue(deps, sku, unitsReturnedSignal);
    else await afterStockReceived(deps, sku);
  }

  return {
    async productInfo(sku: string): Promise<ProductInfo> {
      const p = await stock.product(sku);
      return {
        sku: p.sku,
        name: p.name,
        priceCents: p.priceCents,
        policy: p.policy,
        lowStockThreshold: p.lowStockThreshold,
        reorderQuantity: p.reorderQuantity,
        ...(p.offerSeconds !== undefined ? { offerSeconds: p.offerSeconds } : {}),
      };
    },

    /**
     * Reserves stock for a hold; with a buyer, a product's per-customer limit counts it (and may answer
     * `limit_reached`). Its settles and trims mirror on the buyer's allowance by themselves (Hold.allowance).
     */
    async reserveStock(input: {
      holdId: string;
      sku: string;
      quantity: number;
      from?: ReceivingState;
      buyer?: Buyer;
    }): Promise<TakeOutcome> {
      const outcome = await stock.reserve(input.holdId, input.sku, input.quantity, input.from, input.buyer);
      // The allowance is asked before the stock: a queue's fill with too few units incoming answers for the stock,
      // so its queue passes a waiter over for the limit only when there were units for it (a pass runs on every
      // join, and a buyer's other reservation may hold the allowance for a moment).
      if (outcome.status === 'limit_reached' && input.from === 'incoming') {
        const { incoming } = await stock.freshSummary(input.sku);
        if (incoming < input.quantity) return { status: 'insufficient', available: incoming };
      }
      // A take of units on sale may have sold the SKU out (a queue's fill takes `incoming` ones).
      if (outcome.status === 'taken' && (input.from ?? 'available') === 'available')
        await afterSellableTaken(deps, input.sku, outcome.hold);
      return outcome;
    },

    /**
     * A cart line's first reservation, with the product's policy (and waitlist offer window) for a refusal (one
     * local activity). With
     * `followUp` (hold workflows of revision 4 on), a reservation that took stock then does what
     * `afterStockTaken` does, in the same activity: a held line's answer needs no activity task of its own.
     */
    async reserveLineStock(input: {
      holdId: string;
      sku: string;
      quantity: number;
      buyer?: Buyer;
      followUp?: boolean;
    }): Promise<{ policy: ProductInfo['policy']; outcome: TakeOutcome; offerSeconds?: number }> {
      const { policy, offerSeconds } = await stock.product(input.sku);
      const outcome = await stock.reserve(input.holdId, input.sku, input.quantity, 'available', input.buyer);
      if (input.followUp && outcome.status === 'taken') await afterStockTaken(deps, input.sku, outcome.hold);
      return { policy, outcome, ...(offerSeconds !== undefined ? { offerSeconds } : {}) };
    },

    /**
     * Settles holds; holds that a twin settled earlier report how they ended. Released units go where
     * releaseTarget says.
     */
    async settleHolds(input: { holds: readonly Hold[]; kind: SettleKind }): Promise<SettleResult[]> {
      const results: SettleResult[] = [];
      for (const hold of input.holds) {
        const to = input.kind === 'release' ? await releaseTarget(hold.sku) : 'available';
        results.push(await stock.settle(hold, input.kind, to));
        if (input.kind === 'release') await afterRelease(hold.sku, to);
      }
      return results;
    },

    /** Shrinks a hold to `keep` units by one partial release; the rest go where releaseTarget says. */
    async trimHold(input: { hold: Hold; keep: number }): Promise<Hold> {
      const to = await releaseTarget(input.hold.sku);
      const kept = await stock.trim(input.hold, input.keep, to);
      await afterRelease(input.hold.sku, to);
      return kept;
    },

    /** Saves a line unless a newer state of it is stored; counts how lines end for /metrics. */
    async saveCartLine(line: CartLine): Promise<void> {
      await cartLines.save(line);
      if (line.status === 'expired') {
        await publishEvent(deps, {
          type: 'hold.expired',
          key: line.holdId,
          aggregate: { kind: 'hold', id: line.holdId },
          data: { holdId: line.holdId, cartId: line.cartId, sku: line.sku, quantity: line.quantity },
        });
      }
      if (line.status === 'expired' || line.status === 'purchased') deps.metrics.holds.labels(line.status).inc();
    },

    /**
     * Saves the line a queue's fill made held, and records the fill's event in the same step (a retry saves the
     * same rev again and records the same event id, both no-ops): `waitlist.offered` for an offer, with its
     * window, or `backorder.filled`. Key: the hold id (a line is filled once).
     */
    async saveFilledLine(line: CartLine): Promise<void> {
      await cartLines.save(line);
      const offered = line.offeredAt !== undefined;
      await publishEvent(deps, {
        type: offered ? 'waitlist.offered' : 'backorder.filled',
        key: line.holdId,
        aggregate: { kind: 'hold', id: line.holdId },
        data: {
          holdId: line.holdId,
          cartId: line.cartId,
          sku: line.sku,
          quantity: line.quantity,
          ...(offered ? { expiresAt: line.expiresAt } : {}),
        },
      });
    },

    async getCartLine(input: { cartId: string; holdId: string }): Promise<CartLine | undefined> {
      return cartLines.get(input.cartId, input.holdId);
    },
  };
}
