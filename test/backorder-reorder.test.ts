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
} from '../src/contract/messages';
import { workflowIds } from '../src/contract/workflow-ids';
import { expectCleanLedger, productInput, uniqueId } from './helpers';
import { addToCart, createTestWorker, type TestWorker, useTimeSkippingWorker } from './workflow-helpers';

describe('backorders and reorders (time-skipping)', () => {
  const ctx = useTimeSkippingWorker();
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let w: TestWorker;
  beforeAll(() => ({ env, shards, w } = ctx));

  async function product(policy: StockPolicy, quantity: number, lowStockThreshold = 0, reorderQuantity = 0) {
    const sku = uniqueId('sku');
    await w.stock.createProduct(productInput(sku, { policy, lowStockThreshold, reorderQuantity }), quantity);
    return sku;
  }

  const lineStatus = async (holdId: string) =>
    (await env.client.workflow.getHandle(workflowIds.hold(holdId)).query(holdStateQuery)).line.status;
  const queue = (sku: string) => env.client.workflow.getHandle(workflowIds.backorders(sku));

  async function waitFor(check: () => Promise<boolean>) {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('condition not reached');
  }

  /** Waits until the queue has handled everything sent to it so far (queries see its state after each task). */
  async function settled(sku: string, waiting: number) {
    for (let i = 0; i < 100; i++) {
      const state = await queue(sku).query(backorderQueueQuery);
      if (state.waiting.length === waiting && !state.busy) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { waiting: left } = await queue(sku).query(backorderQueueQuery);
    throw new Error(`backorder queue did not settle at ${waiting} waiting: ${JSON.stringify(left)}`);
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
    const report = await expectCleanLedger(w.stock, shards, sku);
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
    await expectCleanLedger(w.stock, shards, sku);
  });

  it('a line that leaves while its fill is reserved drops nobody else from the queue', async () => {
    // The head's line is removed while the queue awaits the head's fill (a cancel signal landing mid-fill).
    let armed = false;
    const t = await createTestWorker(env, shards, (real) => ({
      reserveStock: async (input) => {
        if (armed && input.from === 'incoming' && input.holdId.startsWith(`${leaving}:fill:`)) {
          armed = false;
          await env.client.workflow.getHandle(workflowIds.hold(leaving)).executeUpdate(removeLineUpdate);
        }
        return real.reserveStock(input);
      },
    }));
    const running = t.worker.run();
    const sku = uniqueId('sku');
    await t.stock.createProduct(productInput(sku, { policy: 'backorder' }), 0);
    const cartId = uniqueId('cart');
    const leaving = uniqueId('a');
    const [next, last] = [uniqueId('b'), uniqueId('c')];
    try {
      for (const holdId of [leaving, next, last]) {
        await addToCart(env.client, t.taskQueue, { holdId, cartId, sku, quantity: 1 });
      }
      await settled(sku, 3);
      armed = true;
      await t.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 1 });
      await settled(sku, 1);
      expect(armed).toBe(false);
      expect(await lineStatus(next)).toBe('pending');
      expect(await lineStatus(last)).toBe('backordered');
      expect((await queue(sku).query(backorderQueueQuery)).waiting.map((e) => e.holdId)).toEqual([last]);
      const report = await expectCleanLedger(t.stock, shards, sku);
      expect(report.totals).toMatchObject({ held: 1, available: 0, incoming: 0, received: 1 });
    } finally {
      // Nothing of this worker's may be left to wake up: the time-skipping server would wait for it.
      for (const holdId of [next, last]) {
        await env.client.workflow
          .getHandle(workflowIds.hold(holdId))
          .terminate('test over')
          .catch(() => undefined);
      }
      await queue(sku).terminate('test over');
      t.worker.shutdown();
      await running;
    }
  });

  it('units a line gives back go to the waiting backorders before any new shopper', async () => {
    const sku = await product('backorder', 1);
    const cartId = uniqueId('cart');
    const [holder, waiter, late] = [uniqueId('holder'), uniqueId('waiter'), uniqueId('late')];
    expect(await addToCart(env.client, w.taskQueue, { holdId: holder, cartId, sku, quantity: 1 })).toMatchObject({
      status: 'held',
    });
    expect(await addToCart(env.client, w.taskQueue, { holdId: waiter, cartId, sku, quantity: 1 })).toMatchObject({
      status: 'backordered',
    });
    await settled(sku, 1);
    await env.client.workflow.getHandle(workflowIds.hold(holder)).executeUpdate(removeLineUpdate);
    await settled(sku, 0);
    expect(await lineStatus(waiter)).toBe('pending');
    expect(await addToCart(env.client, w.taskQueue, { holdId: late, cartId, sku, quantity: 1 })).toMatchObject({
      status: 'backordered',
    });
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ held: 1, available: 0, incoming: 0 });
  });

  it('incoming units kept for a head that leaves go to the next waiter, and the rest on sale', async () => {
    const sku = await product('backorder', 0);
    const cartId = uniqueId('cart');
    const [big, small] = [uniqueId('big'), uniqueId('small')];
    await addToCart(env.client, w.taskQueue, { holdId: big, cartId, sku, quantity: 3 });
    await addToCart(env.client, w.taskQueue, { holdId: small, cartId, sku, quantity: 1 });
    await settled(sku, 2);
    await w.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 2 });
    // Strict order: 2 units cannot fill the head's 3, so they wait for it, incoming.
    await waitFor(async () => (await w.stock.summary(sku)).incoming === 2);
    expect(await lineStatus(small)).toBe('backordered');

    await env.client.workflow.getHandle(workflowIds.hold(big)).executeUpdate(removeLineUpdate);
    await settled(sku, 0);
    expect(await lineStatus(small)).toBe('pending');
    await waitFor(async () => (await w.stock.summary(sku)).available === 1);
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ held: 1, available: 1, incoming: 0, received: 2 });
  });

  it('a queue carried over continue-as-new picks up where it stopped', async () => {
    const sku = await product('backorder', 0);
    const cartId = uniqueId('cart');
    const holdId = uniqueId('line');
    await addToCart(env.client, w.taskQueue, { holdId, cartId, sku, quantity: 2 });
    await settled(sku, 1);
    // The run that follows one that stopped after a restock arrived but before its pass: it is told to make one.
    // (The first is ended while quiet: ending a run with an activity in flight stalls the time-skipping server.)
    await waitFor(async () => !(await queue(sku).query(backorderQueueQuery)).busy);
    await queue(sku).terminate('simulate continue-as-new');
    const waiting = [{ holdId, quantity: 2, arrivedAt: new Date().toISOString() }];
    await env.client.workflow.start('backorderQueueWorkflow', {
      workflowId: workflowIds.backorders(sku),
      taskQueue: w.taskQueue,
      args: [{ sku, waiting, restocks: [{ opId: 'po-carried', quantity: 2 }], seq: 7, dirty: true }],
    });
    await settled(sku, 0);
    expect(await lineStatus(holdId)).toBe('pending');
    expect((await checkInvariants(w.stock, shards, sku)).totals).toMatchObject({ held: 2, received: 2 });
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
    await expectCleanLedger(w.stock, shards, sku);
  });
});
