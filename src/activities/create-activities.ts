import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { CartLineStore, collections, type ShardSet } from '../db';
import { isDuplicateKey } from '../stock/ledger';
import { planRebalance } from '../stock/rebalance';
import type { StockService } from '../stock/stock-service';
import type { Hold, SettleKind, SettleResult, TakeOutcome } from '../stock/types';
import type { ReceivingState } from '../stock/balances';
import {
  cancelBackorderSignal,
  enqueueBackorderSignal,
  lockForCheckoutUpdate,
  restockSignal,
} from '../workflows/messages';
import type { Metrics } from '../metrics';
import type { BackorderEntry, CartLine, LockResult, Order } from '../workflows/types';
import { CardDeclinedError, type Charge, type PaymentGateway } from './payment-gateway';
import { workflowIds } from '../workflows/workflow-ids';

export interface ActivityDeps {
  readonly shards: ShardSet;
  readonly stock: StockService;
  readonly payments: PaymentGateway;
  /** For activities that start or message other workflows (locks, reorders, the backorder queue). */
  readonly temporal: Client;
  readonly taskQueue: string;
  readonly metrics: Metrics;
}

export interface ProductInfo {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly policy: 'strict' | 'backorder';
  readonly lowStockThreshold: number;
  readonly reorderQuantity: number;
}

/**
 * Builds the activities from injected clients, so tests run them against real servers (and a fake of the
 * payment provider only). Every mutating activity is idempotent by a key its workflow derives from its own id.
 */
export function createActivities(deps: ActivityDeps) {
  const { shards, stock, temporal } = deps;
  const cartLines = new CartLineStore(shards);
  const ordersOf = (orderId: string) =>
    shards.cartsDb(shards.shardFor(orderId)).collection<OrderDoc>(collections.carts.orders);

  /** Starts a singleton workflow unless one with that id runs already; true when this call started it. */
  async function startOnce(workflowType: string, workflowId: string, args: unknown[]): Promise<boolean> {
    try {
      await temporal.workflow.start(workflowType, { workflowId, taskQueue: deps.taskQueue, args });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
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
      };
    },

    reserveStock(input: {
      holdId: string;
      sku: string;
      quantity: number;
      from?: ReceivingState;
    }): Promise<TakeOutcome> {
      return stock.reserve(input.holdId, input.sku, input.quantity, input.from);
    },

    /** A cart line's first reservation, with the product's policy for a refusal (one local activity). */
    async reserveLineStock(input: {
      holdId: string;
      sku: string;
      quantity: number;
    }): Promise<{ policy: ProductInfo['policy']; outcome: TakeOutcome }> {
      const { policy } = await stock.product(input.sku);
      return { policy, outcome: await stock.reserve(input.holdId, input.sku, input.quantity) };
    },

    /** Settles holds; holds that a twin settled earlier report how they ended. */
    async settleHolds(input: { holds: readonly Hold[]; kind: SettleKind }): Promise<SettleResult[]> {
      const results: SettleResult[] = [];
      for (const hold of input.holds) results.push(await stock.settle(hold, input.kind));
      return results;
    },

    /** Counts how lines end (expired, removed, purchased) for /metrics. */
    async saveCartLine(line: CartLine): Promise<void> {
      await cartLines.save(line);
      if (line.status === 'expired' || line.status === 'purchased') deps.metrics.holds.labels(line.status).inc();
    },

    restockStock(input: { opId: string; sku: string; quantity: number; to?: ReceivingState }): Promise<number> {
      return stock.restock(input.opId, input.sku, input.quantity, input.to);
    },

    releaseIncoming(input: { opId: string; sku: string }): Promise<number> {
      return stock.releaseIncoming(input.opId, input.sku);
    },

    rebalanceStock(input: { opId: string; sku: string }): Promise<number> {
      return stock.rebalance(input.opId, input.sku);
    },

    /**
     * After stock left a SKU: asks a human for a reorder when availability fell below the threshold (one
     * reorder workflow per SKU at a time), and starts the rebalancer when a bucket ran dry while others hold
     * stock. Returns what it started.
     */
    async afterStockTaken(sku: string): Promise<{ reorder: boolean; rebalance: boolean }> {
      const product = await stock.product(sku);
      // First from the heads this process has cached (no I/O); a fresh look only when they suggest it.
      const cached = stock.cachedAvailability(product);
      const seen = cached.every((a) => a !== undefined);
      const cachedTotal = cached.reduce<number>((sum, a) => sum + (a ?? 0), 0);
      let reorder = false;
      if (product.reorderQuantity > 0 && (!seen || cachedTotal < product.lowStockThreshold)) {
        const { available } = await stock.summary(sku);
        if (available < product.lowStockThreshold) {
          reorder = await startOnce('reorderWorkflow', workflowIds.reorder(sku), [
            { sku, quantity: product.reorderQuantity, availableAtRequest: available },
          ]);
        }
      }
      let rebalance = false;
      const maybeSkewed = !seen || planRebalance(cached as number[]).length > 0;
      if (product.buckets > 1 && maybeSkewed && (await stock.needsRebalance(sku))) {
        rebalance = await startOnce('rebalanceWorkflow', workflowIds.rebalance(sku), [{ sku }]);
      }
      return { reorder, rebalance };
    },

    async enqueueBackorder(input: { sku: string; entry: BackorderEntry }): Promise<void> {
      await temporal.workflow.signalWithStart('backorderQueueWorkflow', {
        workflowId: workflowIds.backorders(input.sku),
        taskQueue: deps.taskQueue,
        args: [{ sku: input.sku }],
        signal: enqueueBackorderSignal,
        signalArgs: [input.entry],
      });
    },

    async cancelBackorder(input: { sku: string; holdId: string }): Promise<void> {
      await temporal.workflow.signalWithStart('backorderQueueWorkflow', {
        workflowId: workflowIds.backorders(input.sku),
        taskQueue: deps.taskQueue,
        args: [{ sku: input.sku }],
        signal: cancelBackorderSignal,
        signalArgs: [{ holdId: input.holdId }],
      });
    },

    /** Hands received units to the SKU's backorder queue, which fills waiting backorders first. */
    async restockThroughQueue(input: { sku: string; opId: string; quantity: number }): Promise<void> {
      await temporal.workflow.signalWithStart('backorderQueueWorkflow', {
        workflowId: workflowIds.backorders(input.sku),
        taskQueue: deps.taskQueue,
        args: [{ sku: input.sku }],
        signal: restockSignal,
        signalArgs: [{ opId: input.opId, quantity: input.quantity }],
      });
    },

    // ---- carts and orders ----

    async listCartLines(cartId: string): Promise<CartLine[]> {
      const lines = await cartLines.list(cartId);
      return lines.sort((a, b) => a.holdId.localeCompare(b.holdId));
    },

    /** Asks a line's hold workflow to hand its holds to a checkout; a finished line is unavailable. */
    async lockCartLine(input: { cartId: string; holdId: string; orderId: string }): Promise<LockResult> {
      try {
        return await temporal.workflow.getHandle(workflowIds.hold(input.holdId)).executeUpdate(lockForCheckoutUpdate, {
          args: [{ orderId: input.orderId }],
          updateId: `lock-${input.orderId}`,
        });
      } catch (err) {
        const finished =
          err instanceof WorkflowNotFoundError ||
          err instanceof WorkflowUpdateFailedError ||
          (err instanceof Error && /already completed|not found/i.test(err.message));
        if (!finished) throw err;
        const line = await cartLines.get(input.cartId, input.holdId);
        if (!line) throw ApplicationFailure.nonRetryable(`no cart line ${input.holdId}`, 'UnknownCartLineError');
        return { status: 'unavailable', line };
      }
    },

    async saveOrder(order: Order): Promise<void> {
      await ordersOf(order.orderId).replaceOne({ _id: order.orderId }, order, { upsert: true });
      if (order.status === 'completed') deps.metrics.checkouts.labels('completed').inc();
      if (order.status === 'failed' && order.reason) deps.metrics.checkouts.labels('failed').inc();
    },

    async chargePayment(input: { orderId: string; amountCents: number; token: string }): Promise<Charge> {
      try {
        return await deps.payments.charge(
          { idempotencyKey: input.orderId, amountCents: input.amountCents, token: input.token },
          Context.current().cancellationSignal,
        );
      } catch (err) {
        if (err instanceof CardDeclinedError) throw ApplicationFailure.nonRetryable(err.message, err.name);
        throw err;
      }
    },

    /** Refunds the order's charge if there was one (the charge is keyed by order id). */
    refundPayment(input: { orderId: string }): Promise<boolean> {
      return deps.payments.refund(input.orderId);
    },

    // ---- ops ----

    /** Records a notification for ops (reorder requests); idempotent by id. */
    async notifyOps(input: { id: string; sku: string; kind: string; message: string }): Promise<void> {
      const col = shards.stockDb(shards.shardFor(input.sku)).collection(collections.stock.notifications);
      try {
        await col.insertOne({ _id: input.id as never, ...input, at: new Date() });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    },

    async recordPurchaseOrder(input: {
      poId: string;
      sku: string;
      quantity: number;
      approvedBy: string;
    }): Promise<void> {
      const col = shards.stockDb(shards.shardFor(input.sku)).collection(collections.stock.purchaseOrders);
      try {
        await col.insertOne({ _id: input.poId as never, ...input, at: new Date() });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    },
  };
}

type OrderDoc = Order & { _id: string };

export type Activities = ReturnType<typeof createActivities>;
