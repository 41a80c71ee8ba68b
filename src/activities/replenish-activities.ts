import { workflowIds } from '../contract/workflow-ids';
import { collections, insertOnce } from '../db';
import type { ReceivingState } from '../stock/balances';
import type { Hold } from '../stock/types';
import { planRebalance } from '../stock/rebalance';
import type { ActivityDeps } from './deps';
import { publishEvent } from './event-activities';
import { afterSellableTaken, afterStockReceived } from './stock-episode-activities';
import { seenRunningRecently, startOnce } from './workflow-starts';

/** A notification for ops (`notifications`, `_id` = its id). */
interface NotificationDoc {
  readonly _id: string;
  readonly id: string;
  readonly sku: string;
  readonly kind: string;
  readonly message: string;
  readonly at: Date;
}

/** A purchase order a human approved (`purchase_orders`, `_id = poId`). */
interface PurchaseOrderDoc {
  readonly _id: string;
  readonly poId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly approvedBy: string;
  readonly at: Date;
}

/** Keeping stock on the shelves: restocks, reorders when it runs low, and evening out the buckets. */
export function replenishActivities(deps: ActivityDeps) {
  const { shards, stock } = deps;
  return {
    /** Receives units; received on sale (not `incoming`), a sold-out strict SKU is back in stock (its event). */
    async restockStock(input: { opId: string; sku: string; quantity: number; to?: ReceivingState }): Promise<number> {
      const received = await stock.restock(input.opId, input.sku, input.quantity, input.to);
      if ((input.to ?? 'available') === 'available') await afterStockReceived(deps, input.sku);
      return received;
    },

    /** Finishes any transfer left half done (a run that died between its two entries), then evens the buckets. */
    async rebalanceStock(input: { opId: string; sku: string }): Promise<number> {
      await stock.repairTransfers(input.sku);
      return stock.rebalance(input.opId, input.sku);
    },

    /** See `afterStockTaken` below (a cart line's first reservation runs it itself: reserveLineStock). */
    afterStockTaken(sku: string): Promise<{ reorder: boolean; rebalance: boolean }> {
      return afterStockTaken(deps, sku);
    },

    /** Records a notification for ops (reorder requests); idempotent by id. */
    async notifyOps(input: { id: string; sku: string; kind: string; message: string }): Promise<void> {
      const col = shards
        .stockDb(shards.shardFor(input.sku))
        .collection<NotificationDoc>(collections.stock.notifications);
      await insertOnce(col, { _id: input.id, ...input, at: new Date() }, 'ignore');
      if (input.kind === 'reorder_requested') {
        const product = await stock.product(input.sku);
        const { available } = await stock.summary(input.sku);
        for (const type of ['stock.low', 'reorder.requested'] as const) {
          await publishEvent(deps, {
            type,
            key: input.id,
            aggregate: { kind: 'sku', id: input.sku },
            data: {
              sku: input.sku,
              available,
              lowStockThreshold: product.lowStockThreshold,
              ...(type === 'reorder.requested' ? { quantity: product.reorderQuantity } : {}),
            },
          });
        }
      }
    },

    async recordPurchaseOrder(input: {
      poId: string;
      sku: string;
      quantity: number;
      approvedBy: string;
    }): Promise<void> {
      const col = shards
        .stockDb(shards.shardFor(input.sku))
        .collection<PurchaseOrderDoc>(collections.stock.purchaseOrders);
      await insertOnce(col, { _id: input.poId, ...input, at: new Date() }, 'ignore');
      await publishEvent(deps, {
        type: 'reorder.approved',
        key: input.poId,
        aggregate: { kind: 'sku', id: input.sku },
        data: { sku: input.sku, purchaseOrderId: input.poId, quantity: input.quantity, approvedBy: input.approvedBy },
      });
    },
  };
}

/**
 * After stock left a SKU: asks a human for a reorder when availability fell below the threshold (one reorder
 * workflow per SKU at a time), starts the rebalancer when a bucket ran dry while others hold stock, and records
 * a strict SKU's selling out (`afterSellableTaken`). Returns
 * what it started. Idempotent: what it starts is started once (startOnce). Neither is asked again while this
 * process saw it running in the last second (seenRunningRecently): a running rebalancer plans from the heads it
 * reads itself, and a reorder waits for its human; a take after that second asks again.
 */
export async function afterStockTaken(
  deps: ActivityDeps,
  sku: string,
  /** The hold the take made, when known: its bucket's head is this process's own fresh write. */
  taken?: Hold,
): Promise<{ reorder: boolean; rebalance: boolean }> {
  const { stock } = deps;
  const product = await stock.product(sku);
  // Both checks read every bucket's head: while one of the SKU's shards is cut off they wait for the next take,
  // so that a held line's answer never waits on a shard it took nothing from.
  if (stock.bucketsOf(product).some((b) => !deps.shards.reachable(b.shard)))
    return { reorder: false, rebalance: false };
  // First from the heads this process has cached (no I/O); a fresh look only when they suggest it.
  const cached = stock.cachedAvailability(product);
  const seen = cached.every((a) => a !== undefined);
  const cachedTotal = cached.reduce<number>((sum, a) => sum + (a ?? 0), 0);
  let reorder = false;
  const reorderId = workflowIds.reorder(sku);
  const rebalanceId = workflowIds.rebalance(sku);
  if (
    product.reorderQuantity > 0 &&
    (!seen || cachedTotal < product.lowStockThreshold) &&
    !seenRunningRecently(reorderId)
  ) {
    const { available } = await stock.summary(sku);
    if (available < product.lowStockThreshold) {
      reorder = await startOnce(deps, 'reorderWorkflow', reorderId, [
        { sku, quantity: product.reorderQuantity, availableAtRequest: available },
      ]);
    }
  }
  let rebalance = false;
  const maybeSkewed = !seen || planRebalance(cached as number[]).length > 0;
  if (product.buckets > 1 && maybeSkewed && !seenRunningRecently(rebalanceId) && (await stock.needsRebalance(sku))) {
    rebalance = await startOnce(deps, 'rebalanceWorkflow', rebalanceId, [{ sku }]);
  }
  await afterSellableTaken(deps, sku, taken);
  return { reorder, rebalance };
}
