import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { SignalDefinition, Workflow } from '@temporalio/common';
import { CartLineStore, collections, replaceUnlessNewer, type ShardSet } from '../db';
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
  unitsReturnedSignal,
} from '../contract/messages';
import type { Metrics } from '../metrics';
import type { BackorderEntry, CartLine, CheckoutStanding, LockResult, Order } from '../contract/types';
import { CardDeclinedError, type Charge, type PaymentGateway } from './payment-gateway';
import { failureTypes } from '../contract/failures';
import { workflowIds } from '../contract/workflow-ids';
import { OrderId } from '../contract/search-attributes';

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

  /** Signals a backorder SKU's queue, starting it if needed. */
  function signalQueue<Args extends unknown[]>(sku: string, signal: SignalDefinition<Args>, ...signalArgs: Args) {
    return temporal.workflow.signalWithStart<Workflow, unknown[]>('backorderQueueWorkflow', {
      workflowId: workflowIds.backorders(sku),
      taskQueue: deps.taskQueue,
      args: [{ sku }],
      signal: signal.name,
      signalArgs,
    });
  }

  /**
   * Where released units of a SKU go: a backorder SKU's go back `incoming`, for its queue to give to the waiting
   * first (and to put on sale if nobody waits); everyone else's are available again at once.
   */
  async function releaseTarget(sku: string): Promise<ReceivingState> {
    return (await stock.product(sku)).policy === 'backorder' ? 'incoming' : 'available';
  }

  async function afterRelease(sku: string, to: ReceivingState) {
    if (to === 'incoming') await signalQueue(sku, unitsReturnedSignal);
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
      if (line.status === 'expired' || line.status === 'purchased') deps.metrics.holds.labels(line.status).inc();
    },

    async getCartLine(input: { cartId: string; holdId: string }): Promise<CartLine | undefined> {
      return cartLines.get(input.cartId, input.holdId);
    },

    restockStock(input: { opId: string; sku: string; quantity: number; to?: ReceivingState }): Promise<number> {
      return stock.restock(input.opId, input.sku, input.quantity, input.to);
    },

    releaseIncoming(input: { opId: string; sku: string }): Promise<number> {
      return stock.releaseIncoming(input.opId, input.sku);
    },

    /** Keeps every available unit of a backorder SKU for its waiting backorders (moves it to incoming). */
    holdForBackorders(input: { opId: string; sku: string }): Promise<number> {
      return stock.holdForBackorders(input.opId, input.sku);
    },

    /** Finishes any transfer left half done (a run that died between its two entries), then evens the buckets. */
    async rebalanceStock(input: { opId: string; sku: string }): Promise<number> {
      await stock.repairTransfers(input.sku);
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
      await signalQueue(input.sku, enqueueBackorderSignal, input.entry);
    },

    async cancelBackorder(input: { sku: string; holdId: string }): Promise<void> {
      await signalQueue(input.sku, cancelBackorderSignal, { holdId: input.holdId });
    },

    /** Hands received units to the SKU's backorder queue, which fills waiting backorders first. */
    async restockThroughQueue(input: { sku: string; opId: string; quantity: number }): Promise<void> {
      await signalQueue(input.sku, restockSignal, { opId: input.opId, quantity: input.quantity });
    },

    // ---- carts and orders ----

    async listCartLines(cartId: string): Promise<CartLine[]> {
      const lines = await cartLines.list(cartId);
      return lines.sort((a, b) => a.holdId.localeCompare(b.holdId));
    },

    /** Asks a line's hold workflow to hand its holds to a checkout; a line whose run has ended holds nothing. */
    async lockCartLine(input: { cartId: string; holdId: string; orderId: string }): Promise<LockResult> {
      try {
        return await temporal.workflow.getHandle(workflowIds.hold(input.holdId)).executeUpdate(lockForCheckoutUpdate, {
          args: [{ orderId: input.orderId }],
          updateId: `lock-${input.orderId}`,
        });
      } catch (err) {
        // Not found is also Temporal's answer for an update to a run that has closed: the stored line says how.
        const finished = err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError;
        if (!finished) throw err;
        const line = await cartLines.get(input.cartId, input.holdId);
        if (!line) throw ApplicationFailure.nonRetryable(`no cart line ${input.holdId}`, failureTypes.unknownCartLine);
        return line.status === 'purchased' ? { status: 'purchased', line } : { status: 'ended', line };
      }
    },

    /**
     * Records a new order, or finds the one stored under its id: an order id's saga runs once, and a run that
     * finds its order final answers with it.
     */
    async openOrder(order: Order): Promise<Order> {
      const col = ordersOf(order.orderId);
      try {
        await col.insertOne({ _id: order.orderId, ...order });
        return order;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const { _id, ...stored } = (await col.findOne({ _id: order.orderId }))!;
        return stored;
      }
    },

    /** Saves an order unless a newer state of it is stored (see CartLine.rev). */
    async saveOrder(order: Order): Promise<void> {
      const saved = await replaceUnlessNewer(ordersOf(order.orderId), { _id: order.orderId, ...order });
      if (!saved) return;
      if (order.status === 'completed') deps.metrics.checkouts.labels('completed').inc();
      if (order.status === 'failed' && order.reason) deps.metrics.checkouts.labels('failed').inc();
    },

    /**
     * Whether the checkout that locked a line still stands (asked when the lock's lease lapses): `completed`
     * when its order completed with this line, `running` while its run lives, else `ended` (failed, or its run
     * was terminated or lost): the line is then the cart's again.
     */
    async checkoutStanding(input: { cartId: string; orderId: string; holdId: string }): Promise<CheckoutStanding> {
      const order = await ordersOf(input.orderId).findOne({ _id: input.orderId });
      if (order?.status === 'completed') {
        return order.lines.some((l) => l.holdId === input.holdId) ? 'completed' : 'ended';
      }
      if (order?.status === 'failed') return 'ended';
      try {
        const run = await temporal.workflow.getHandle(workflowIds.checkout(input.cartId)).describe();
        const runsIt = run.status.name === 'RUNNING' && run.typedSearchAttributes.get(OrderId) === input.orderId;
        return runsIt ? 'running' : 'ended';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'ended';
        throw err;
      }
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
