import { cancelBackorderSignal, enqueueBackorderSignal, restockSignal } from '../contract/messages';
import type { BackorderEntry } from '../contract/types';
import type { ActivityDeps } from './deps';
import { publishEvent } from './event-activities';
import { afterSellableChanged } from './stock-episode-activities';
import { signalQueue } from './workflow-starts';

/** A backorder or waitlist SKU's queue: messages to it, and the stock moves its passes make. */
export function backorderActivities(deps: ActivityDeps) {
  const { stock } = deps;
  return {
    async enqueueBackorder(input: { sku: string; entry: BackorderEntry }): Promise<void> {
      await signalQueue(deps, input.sku, enqueueBackorderSignal, input.entry);
      await publishEvent(deps, {
        type: input.entry.waitlist ? 'waitlist.joined' : 'backorder.queued',
        key: input.entry.holdId,
        aggregate: { kind: 'sku', id: input.sku },
        data: { sku: input.sku, holdId: input.entry.holdId, quantity: input.entry.quantity },
      });
    },

    async cancelBackorder(input: { sku: string; holdId: string }): Promise<void> {
      await signalQueue(deps, input.sku, cancelBackorderSignal, { holdId: input.holdId });
    },

    /** Hands received units to the SKU's backorder queue, which fills waiting backorders first. */
    async restockThroughQueue(input: { sku: string; opId: string; quantity: number }): Promise<void> {
      await signalQueue(deps, input.sku, restockSignal, { opId: input.opId, quantity: input.quantity });
    },

    /**
     * Puts a queue's leftover on sale; a strict (waitlist) SKU sold out is then back in stock. Run at the end of
     * every pass with nobody waiting, so a poke of a plain strict SKU's queue (by the API, which publishes no
     * events: a restock onto a sold-out SKU, an ops move on or off sale) records its episode's event here.
     */
    async releaseIncoming(input: { opId: string; sku: string }): Promise<number> {
      const released = await stock.releaseIncoming(input.opId, input.sku);
      await afterSellableChanged(deps, input.sku);
      return released;
    },

    /** Keeps every available unit of a backorder SKU for its waiting backorders (moves it to incoming). */
    holdForBackorders(input: { opId: string; sku: string }): Promise<number> {
      return stock.holdForBackorders(input.opId, input.sku);
    },
  };
}
