import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShardSet } from '../src/db';
import { EventStore } from '../src/events';
import { eventId } from '../src/contract/events';
import { checkSystem } from '../src/ops/check-system';
import { backorderQueueQuery, holdStateQuery, removeLineUpdate } from '../src/contract/messages';
import type { CartLine, Order } from '../src/contract/types';
import { workflowIds } from '../src/contract/workflow-ids';
import { productInput, uniqueId } from './helpers';
import { addToCart, createTestWorker, type TestWorker, useDevServerWorkers } from './workflow-helpers';

// On the dev server, in real time: an offer's window must run while its shopper checks out (the time-skipping
// server would skip to its end whenever the run is idle), so the windows are a few seconds long.
describe('waitlist of a strict SKU (dev server)', () => {
  const dev = useDevServerWorkers();
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let w: TestWorker;
  beforeAll(() => ({ env, shards, w } = dev));

  async function soldOut(t: TestWorker, offerSeconds: number) {
    const sku = uniqueId('sku');
    await t.stock.createProduct(productInput(sku, { offerSeconds }), 0);
    return sku;
  }

  const line = async (holdId: string): Promise<CartLine> =>
    (await env.client.workflow.getHandle(workflowIds.hold(holdId)).query(holdStateQuery)).line;
  const queue = (sku: string) => env.client.workflow.getHandle(workflowIds.backorders(sku));
  const waitingIds = async (sku: string) => (await queue(sku).query(backorderQueueQuery)).waiting.map((e) => e.holdId);

  async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`not reached: ${what}`);
  }

  /** Waits until the queue has handled everything sent to it so far, with `waiting` left. */
  const settled = (sku: string, waiting: number) =>
    waitFor(`${sku}'s queue quiet with ${waiting} waiting`, async () => {
      const state = await queue(sku).query(backorderQueueQuery);
      return state.waiting.length === waiting && !state.busy;
    });

  /** Shoppers join the waitlist one after another, each from a cart of their own. */
  async function join(t: TestWorker, sku: string, n: number, quantity = 1) {
    const shoppers: { cartId: string; holdId: string }[] = [];
    for (let i = 0; i < n; i++) {
      const shopper = { cartId: uniqueId('cart'), holdId: uniqueId(`w${i}`) };
      const answer = await addToCart(env.client, t.taskQueue, { ...shopper, sku, quantity, waitlist: true });
      expect(answer).toMatchObject({ status: 'waitlisted', holdId: shopper.holdId, quantity });
      shoppers.push(shopper);
    }
    return shoppers;
  }

  const checkout = (cartId: string): Promise<Order> =>
    env.client.workflow.execute('checkoutWorkflow', {
      workflowId: workflowIds.checkout(cartId),
      taskQueue: w.taskQueue,
      args: [{ orderId: uniqueId('order'), cartId, paymentToken: 'tok_visa' }],
    });

  async function expectClean() {
    const report = await checkSystem(w.stock, shards);
    expect(report.violations).toEqual([]);
    return report;
  }

  it('leaving the waitlist, or an offer, passes the units on at once', async () => {
    const sku = await soldOut(w, 600);
    const [a, b, c] = await join(w, sku, 3);
    await settled(sku, 3);
    // b leaves while waiting: it is out of the queue, and never offered.
    expect(
      (await env.client.workflow.getHandle(workflowIds.hold(b!.holdId)).executeUpdate(removeLineUpdate)).line,
    ).toMatchObject({ status: 'removed' });
    await settled(sku, 2);
    await w.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 1 });
    await settled(sku, 1);
    expect((await line(a!.holdId)).status).toBe('pending');
    // a declines its offer: the unit goes to c without waiting for a's window.
    await env.client.workflow.getHandle(workflowIds.hold(a!.holdId)).executeUpdate(removeLineUpdate);
    await settled(sku, 0);
    expect((await line(c!.holdId)).status).toBe('pending');
    expect((await line(b!.holdId)).offeredAt).toBeUndefined();
    await expectClean();
  });

  it('a removal, a join and a restock that land mid-fill neither skip nor drop a waiter', async () => {
    let armed = false;
    let joiner: { cartId: string; holdId: string } | undefined;
    const t = await createTestWorker(env, shards, (real) => ({
      reserveStock: async (input) => {
        if (armed && input.from === 'incoming' && input.holdId.startsWith(`${head!.holdId}:fill:`)) {
          armed = false;
          // While the head's fill is being reserved: the head leaves, one more shopper joins, more units come.
          await env.client.workflow.getHandle(workflowIds.hold(head!.holdId)).executeUpdate(removeLineUpdate);
          [joiner] = await join(t, sku, 1);
          await t.activities.restockThroughQueue({ sku, opId: 'po-2', quantity: 1 });
        }
        return real.reserveStock(input);
      },
    }));
    const running = t.worker.run();
    const sku = await soldOut(t, 600);
    let head: { cartId: string; holdId: string } | undefined;
    try {
      const shoppers = await join(t, sku, 4);
      head = shoppers[0];
      await settled(sku, 4);
      armed = true;
      await t.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 1 });
      await waitFor('the mid-fill messages handled', async () => !armed && joiner !== undefined);
      // Two units (one from each restock), the head gone: the 2nd and 3rd are offered, the 4th and the joiner wait.
      await settled(sku, 2);
      expect((await line(head!.holdId)).status).toBe('removed');
      for (const s of shoppers.slice(1, 3)) expect((await line(s.holdId)).status).toBe('pending');
      expect(await waitingIds(sku)).toEqual([shoppers[3]!.holdId, joiner!.holdId]);
      await expectClean();
    } finally {
      t.worker.shutdown();
      await running;
    }
  });

  it('serves in the order joins reach the queue: a join whose signal is slow comes after one that overtook it', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const slow = { cartId: uniqueId('cart'), holdId: uniqueId('slow') };
    const t = await createTestWorker(env, shards, (real) => ({
      enqueueBackorder: async (input) => {
        if (input.entry.holdId === slow.holdId) await gate;
        return real.enqueueBackorder(input);
      },
    }));
    const running = t.worker.run();
    const sku = await soldOut(t, 600);
    try {
      // slow asks first (its row's joinedAt is stamped now), but its enqueue reaches the queue last.
      const slowAnswer = addToCart(env.client, t.taskQueue, { ...slow, sku, quantity: 1, waitlist: true });
      await waitFor(
        'slow stamped',
        async () => (await line(slow.holdId).catch(() => undefined))?.joinedAt !== undefined,
      );
      const [fast] = await join(t, sku, 1);
      await settled(sku, 1);
      await t.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 1 });
      await settled(sku, 0);
      expect((await line(fast!.holdId)).status).toBe('pending');
      open();
      expect(await slowAnswer).toMatchObject({ status: 'waitlisted' });
      await settled(sku, 1);
      // Each row keeps the queue's stamp of its arrival, so the check sees the order the queue served in.
      await waitFor(
        'slow restamped',
        async () => (await line(slow.holdId)).joinedAt! > (await line(fast!.holdId)).joinedAt!,
      );
      await expectClean();
    } finally {
      open();
      t.worker.shutdown();
      await running;
    }
  });

  it('a retried join whose line was offered meanwhile does not come back to the queue', async () => {
    let failed = false;
    const t = await createTestWorker(env, shards, (real) => ({
      enqueueBackorder: async (input) => {
        await real.enqueueBackorder(input);
        if (failed) return;
        failed = true;
        // The signal landed and the queue offered the line; then the step fails (its event, say) and is retried.
        await t.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 1 });
        await waitFor('the offer', async () => (await queue(sku).query(backorderQueueQuery)).filled === 1);
        throw new Error('publish failed after the signal');
      },
    }));
    const running = t.worker.run();
    const sku = await soldOut(t, 600);
    try {
      const a = { cartId: uniqueId('cart'), holdId: uniqueId('a') };
      // Offered before its first answer: it answers held (the offer) or waitlisted, by which lands first.
      const answer = await addToCart(env.client, t.taskQueue, { ...a, sku, quantity: 1, waitlist: true });
      expect(['held', 'waitlisted']).toContain(answer.status);
      await settled(sku, 0);
      expect(failed).toBe(true);
      expect((await line(a.holdId)).status).toBe('pending');
      // a declines: nobody waits, so the unit goes on sale rather than to a dead entry.
      await env.client.workflow.getHandle(workflowIds.hold(a.holdId)).executeUpdate(removeLineUpdate);
      await settled(sku, 0);
      expect(await waitingIds(sku)).toEqual([]);
      expect((await t.stock.freshSummary(sku)).available).toBe(1);
      await expectClean();
    } finally {
      t.worker.shutdown();
      await running;
    }
  });

  // Last: its lapsed offers keep moving down the list after it, and the system check wants a quiet system.
  it('offers restocked units to the first in join order, and an unclaimed offer to the next after its window', async () => {
    const offerSeconds = 8;
    const sku = await soldOut(w, offerSeconds);
    // Without asking for the waitlist, a sold-out strict SKU is refused as ever.
    expect(
      await addToCart(env.client, w.taskQueue, { holdId: uniqueId('plain'), cartId: uniqueId('c'), sku, quantity: 1 }),
    ).toMatchObject({ status: 'out_of_stock' });
    const shoppers = await join(w, sku, 10);
    await settled(sku, 10);
    expect(await waitingIds(sku)).toEqual(shoppers.map((s) => s.holdId));

    await w.activities.restockThroughQueue({ sku, opId: 'po-1', quantity: 3 });
    await settled(sku, 7);
    const offered = await Promise.all(shoppers.slice(0, 3).map((s) => line(s.holdId)));
    for (const l of offered) {
      expect(l).toMatchObject({ status: 'pending', quantity: 1 });
      expect(Date.parse(l.expiresAt!) - Date.parse(l.offeredAt!)).toBe(offerSeconds * 1000);
    }
    for (const s of shoppers.slice(3)) expect((await line(s.holdId)).status).toBe('waitlisted');
    // The offered units are the waiters': a new shopper cannot take them.
    expect(
      await addToCart(env.client, w.taskQueue, { holdId: uniqueId('late'), cartId: uniqueId('c'), sku, quantity: 1 }),
    ).toMatchObject({ status: 'out_of_stock' });

    // The first two claim their offers by checking out in the window; the third lets its offer lapse.
    for (const s of shoppers.slice(0, 2)) expect(await checkout(s.cartId)).toMatchObject({ status: 'completed' });
    await waitFor(
      'the lapsed offer passed to the 4th',
      async () => (await line(shoppers[3]!.holdId)).status === 'pending',
    );
    expect((await line(shoppers[2]!.holdId)).status).toBe('expired');
    const fourth = await line(shoppers[3]!.holdId);
    expect(Date.parse(fourth.offeredAt!)).toBeGreaterThanOrEqual(Date.parse(offered[2]!.expiresAt!));
    await settled(sku, 6);
    expect(await waitingIds(sku)).toEqual(shoppers.slice(4).map((s) => s.holdId));
    for (const s of shoppers.slice(4)) expect((await line(s.holdId)).status).toBe('waitlisted');

    const report = await expectClean();
    expect(report.totals.sold[sku]).toBe(2);
    const events = new EventStore(shards);
    for (const s of shoppers.slice(0, 4)) {
      expect(await events.get(eventId('waitlist.offered', s.holdId))).toMatchObject({
        type: 'waitlist.offered',
        data: { holdId: s.holdId, sku, quantity: 1 },
      });
    }
    expect(await events.get(eventId('waitlist.offered', shoppers[4]!.holdId))).toBeUndefined();
  });
});
