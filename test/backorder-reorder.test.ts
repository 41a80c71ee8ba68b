import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { collections, type ShardSet } from '../src/db';
import { checkInvariants, type StockPolicy } from '../src/stock';
import {
  approveReorderSignal,
  backorderQueueQuery,
  holdStateQuery,
  receiveReorderSignal,
  removeLineUpdate,
  reorderStateQuery,
  reprioritiseBackorderSignal,
} from '../src/workflows/messages';
import { workflowIds } from '../src/workflows/workflow-ids';
import { uniqueId } from './helpers';
import { addToCart, type TestWorker, useTimeSkippingWorker } from './workflow-helpers';

describe('backorders and reorders (time-skipping)', () => {
  const ctx = useTimeSkippingWorker();
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let w: TestWorker;
  beforeAll(() => ({ env, shards, w } = ctx));

  async function product(policy: StockPolicy, quantity: number, lowStockThreshold = 0, reorderQuantity = 0) {
    const sku = uniqueId('sku');
    await w.stock.createProduct(
      { sku, name: sku, priceCents: 100, policy, buckets: 2, lowStockThreshold, reorderQuantity },
      quantity,
    );
    return sku;
  }

  const lineStatus = async (holdId: string) =>
    (await env.client.workflow.getHandle(workflowIds.hold(holdId)).query(holdStateQuery)).line.status;
  const queue = (sku: string) => env.client.workflow.getHandle(workflowIds.backorders(sku));

  /** Waits until the queue has handled everything sent to it so far (queries see its state after each task). */
  async function settled(sku: string, waiting: number) {
    for (let i = 0; i < 100; i++) {
      if ((await queue(sku).query(backorderQueueQuery)).waiting.length === waiting) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('backorder queue did not settle');
  }

  it('fills backorders strictly in arrival order before new shoppers get the stock', async () => {
    const sku = await product('backorder', 0);
    const cartId = uniqueId('cart');
    const lines: string[] = [];
    for (const quantity of [2, 1, 3]) {
      const holdId = uniqueId('line');
      lines.push(holdId);
      expect(await addToCart(env.client, w.taskQueue, { holdId, cartId, sku, quantity })).toMatchObject({
        status: 'backordered',
      });
    }
    await settled(sku, 3);

    await w.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 4 });
    await settled(sku, 1);
    expect([await lineStatus(lines[0]!), await lineStatus(lines[1]!), await lineStatus(lines[2]!)]).toEqual([
      'pending',
      'pending',
      'backordered',
    ]);
    // The one unit left over waits for the third backorder: a new shopper cannot take it.
    const late = uniqueId('line');
    expect(await addToCart(env.client, w.taskQueue, { holdId: late, cartId, sku, quantity: 1 })).toMatchObject({
      status: 'backordered',
    });
    expect((await w.stock.summary(sku)).incoming).toBe(1);

    await w.activities.restockThroughQueue({ sku, opId: 'po-2', quantity: 3 });
    await settled(sku, 0);
    expect(await lineStatus(lines[2]!)).toBe('pending');
    expect(await lineStatus(late)).toBe('pending');
    const report = await checkInvariants(w.stock, shards, sku);
    expect(report.violations).toEqual([]);
    expect(report.totals).toMatchObject({ held: 7, available: 0, incoming: 0, received: 7 });
  });

  it('lets ops reprioritise and shoppers cancel waiting backorders', async () => {
    const sku = await product('backorder', 0);
    const cartId = uniqueId('cart');
    const [a, b, c] = [uniqueId('a'), uniqueId('b'), uniqueId('c')];
    for (const holdId of [a, b, c]) await addToCart(env.client, w.taskQueue, { holdId, cartId, sku, quantity: 1 });
    await settled(sku, 3);
    await queue(sku).signal(reprioritiseBackorderSignal, { holdId: c, position: 0 });
    expect((await env.client.workflow.getHandle(workflowIds.hold(b)).executeUpdate(removeLineUpdate)).line.status).toBe(
      'removed',
    );
    await settled(sku, 2);
    expect((await queue(sku).query(backorderQueueQuery)).waiting.map((e) => e.holdId)).toEqual([c, a]);

    await w.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 1 });
    await settled(sku, 1);
    expect(await lineStatus(c)).toBe('pending');
    expect(await lineStatus(a)).toBe('backordered');
    expect((await checkInvariants(w.stock, shards, sku)).violations).toEqual([]);
  });

  it('asks a human for one reorder when stock runs low, and never restocks by itself', async () => {
    const sku = await product('strict', 6, 5, 20);
    const cartId = uniqueId('cart');
    await addToCart(env.client, w.taskQueue, { holdId: uniqueId('l'), cartId, sku, quantity: 2 });
    await addToCart(env.client, w.taskQueue, { holdId: uniqueId('l'), cartId, sku, quantity: 1 });
    const reorder = env.client.workflow.getHandle(workflowIds.reorder(sku));
    expect(await reorder.query(reorderStateQuery)).toMatchObject({ status: 'awaiting_approval', quantity: 20 });

    await env.sleep(30 * 24 * 3600 * 1000); // a month without a decision (the holds expire meanwhile)
    expect(await reorder.query(reorderStateQuery)).toMatchObject({ status: 'awaiting_approval' });
    expect((await w.stock.summary(sku)).received).toBe(6);
    const notifications = shards.stockDb(shards.shardFor(sku)).collection(collections.stock.notifications);
    expect(await notifications.countDocuments({ sku, kind: 'reorder_requested' })).toBe(1);

    await reorder.signal(approveReorderSignal, { by: 'ops@example.com' });
    await reorder.signal(receiveReorderSignal, {});
    expect(await reorder.result()).toMatchObject({ status: 'received', decidedBy: 'ops@example.com' });
    expect((await w.stock.summary(sku)).received).toBe(26);
    expect((await checkInvariants(w.stock, shards, sku)).violations).toEqual([]);
  });
});
