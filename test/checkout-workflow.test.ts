import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../src/activities';
import { collections, type ShardSet } from '../src/db';
import { checkInvariants } from '../src/stock';
import { holdStateQuery, removeLineUpdate } from '../src/contract/messages';
import type { CheckoutInput, Order } from '../src/contract/types';
import { workflowIds } from '../src/contract/workflow-ids';
import { expectCleanLedger, uniqueId } from './helpers';
import { cartWithHeldLines, type TestWorker, useDevServerWorkers } from './workflow-helpers';

/** Saga steps a test can make fail, by the activity that performs them. */
type Step = 'lock' | 'charge' | 'record';

// On the dev server, in real time: holds (TTL 10 min) must not lapse while a checkout runs, and the
// time-skipping server would skip to their expiry whenever it finds the run idle. Expiry races are tested
// in hold-workflow.test.ts with time skipping.
describe('checkout saga (dev server)', () => {
  const dev = useDevServerWorkers();
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let w: TestWorker;
  beforeAll(() => ({ env, shards, w } = dev));
  const startWorker = (failAt?: Step) => dev.startWorker((real) => failing(real, failAt));

  function failing(real: Activities, failAt?: Step): Partial<Activities> {
    const boom = (step: Step) => ApplicationFailure.nonRetryable(`injected failure at ${step}`, 'InjectedFailure');
    if (failAt === 'lock') return { lockCartLine: async () => Promise.reject(boom('lock')) };
    if (failAt === 'charge') return { chargePayment: async () => Promise.reject(boom('charge')) };
    if (failAt === 'record') {
      return {
        saveOrder: async (order: Order) =>
          order.status === 'completed' ? Promise.reject(boom('record')) : real.saveOrder(order),
      };
    }
    return {};
  }

  const cartWithLines = (t: TestWorker, units = 10, quantities = [2, 1], ttlSeconds = 600) =>
    cartWithHeldLines(env.client, t, { units, quantities, priceCents: 250, ttlSeconds });

  async function checkout(t: TestWorker, input: CheckoutInput) {
    return env.client.workflow.execute('checkoutWorkflow', {
      workflowId: workflowIds.checkout(input.cartId),
      taskQueue: t.taskQueue,
      args: [input],
    });
  }

  async function gatewayRecords(orderId: string) {
    const records = shards.cartsDb(0).collection(collections.carts.gateway);
    return {
      charges: await records.countDocuments({ _id: `charge:${orderId}` as never, kind: 'charge' }),
      refunds: await records.countDocuments({ _id: `refund:${orderId}` as never }),
    };
  }

  async function orderDoc(orderId: string) {
    return shards
      .cartsDb(shards.shardFor(orderId))
      .collection<Order>(collections.carts.orders)
      .findOne({ _id: orderId } as never);
  }

  it('locks, charges, records the order, then sells the stock and marks the lines purchased', async () => {
    const { sku, cartId, holdIds } = await cartWithLines(w);
    const orderId = uniqueId('order');
    const order = await checkout(w, { orderId, cartId, paymentToken: 'tok_visa' });
    expect(order).toMatchObject({ status: 'completed', totalCents: 750, chargeId: `ch_${orderId}` });
    for (const holdId of holdIds) {
      expect((await env.client.workflow.getHandle(workflowIds.hold(holdId)).result()).status).toBe('purchased');
    }
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ sold: 3, held: 0, available: 7 });
    expect(await gatewayRecords(orderId)).toEqual({ charges: 1, refunds: 0 });
    expect((await orderDoc(orderId))?.status).toBe('completed');
  });

  it('a declined card fails the order and gives the holds back to the cart', async () => {
    const { sku, cartId, holdIds } = await cartWithLines(w);
    const orderId = uniqueId('order');
    const err = await checkout(w, { orderId, cartId, paymentToken: 'tok_chargeDeclined' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('card_declined');
    expect(await orderDoc(orderId)).toMatchObject({ status: 'failed', reason: 'the card was declined' });
    for (const holdId of holdIds) {
      const state = await env.client.workflow.getHandle(workflowIds.hold(holdId)).query(holdStateQuery);
      expect(state.line.status).toBe('pending');
      expect(state.lockedBy).toBeUndefined();
    }
    expect((await checkInvariants(w.stock, shards, sku)).totals).toMatchObject({ held: 3, sold: 0 });
    expect(await gatewayRecords(orderId)).toEqual({ charges: 0, refunds: 0 });
  });

  it('a charge that never answers fails the order without charging', async () => {
    const { cartId } = await cartWithLines(w);
    const orderId = uniqueId('order');
    const err = await checkout(w, { orderId, cartId, paymentToken: 'tok_timeout' }).catch((e: unknown) => e);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('payment_failed');
    expect(await gatewayRecords(orderId)).toEqual({ charges: 0, refunds: 0 });
  }, 120_000);

  it.each(['lock', 'charge', 'record'] as const)('a failure at %s undoes exactly the steps before it', async (step) => {
    const t = await startWorker(step);
    const { sku, cartId, holdIds } = await cartWithLines(t);
    const orderId = uniqueId('order');
    const err = await checkout(t, { orderId, cartId, paymentToken: 'tok_visa' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((await orderDoc(orderId))?.status).toBe('failed');
    // Charged only if the charge step ran and succeeded (record failed after it), then refunded.
    expect(await gatewayRecords(orderId)).toEqual(
      step === 'record' ? { charges: 1, refunds: 1 } : { charges: 0, refunds: 0 },
    );
    // Lines locked before the failure were handed back; none was left locked.
    for (const holdId of holdIds) {
      const state = await env.client.workflow.getHandle(workflowIds.hold(holdId)).query(holdStateQuery);
      expect(state).toMatchObject({ line: { status: 'pending' } });
      expect(state.lockedBy).toBeUndefined();
    }
    const report = await expectCleanLedger(t.stock, shards, sku);
    expect(report.totals).toMatchObject({ held: 3, sold: 0 });
  });

  it('a line that expires between listing and locking is reserved again, or the checkout fails out_of_stock', async () => {
    // The lock activity finds the line already expired (its TTL fired first); optionally another shopper takes
    // the freed unit before the checkout can reserve it again.
    let stealFreedUnit = false;
    const expiredFirst = (real: Activities): Partial<Activities> => ({
      lockCartLine: async (input) => {
        const line = await env.client.workflow.getHandle(workflowIds.hold(input.holdId)).result();
        expect(line.status).toBe('expired');
        if (stealFreedUnit) await real.reserveStock({ holdId: uniqueId('someone-else'), sku: line.sku, quantity: 1 });
        return real.lockCartLine(input);
      },
    });
    const t = await dev.startWorker(expiredFirst);

    const first = await cartWithLines(t, 1, [1], 2);
    const order = await checkout(t, { orderId: uniqueId('order'), cartId: first.cartId, paymentToken: 'tok_visa' });
    expect(order.status).toBe('completed');
    expect((await checkInvariants(t.stock, shards, first.sku)).totals).toMatchObject({
      sold: 1,
      held: 0,
      available: 0,
    });

    stealFreedUnit = true;
    const second = await cartWithLines(t, 1, [1], 2);
    const lateOrder = uniqueId('order');
    const err = await checkout(t, { orderId: lateOrder, cartId: second.cartId, paymentToken: 'tok_visa' }).catch(
      (e: unknown) => e,
    );
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('out_of_stock');
    expect(await orderDoc(lateOrder)).toMatchObject({ status: 'failed' });
    expect(await gatewayRecords(lateOrder)).toEqual({ charges: 0, refunds: 0 });
    const report = await expectCleanLedger(t.stock, shards, second.sku);
    // The one unit is held by the other shopper; the checkout neither sold nor kept anything.
    expect(report.totals).toMatchObject({ sold: 0, held: 1, available: 0 });
  });

  it('a line removed between listing and locking is not bought', async () => {
    const removedFirst = (real: Activities): Partial<Activities> => ({
      lockCartLine: async (input) => {
        await env.client.workflow.getHandle(workflowIds.hold(input.holdId)).executeUpdate(removeLineUpdate);
        return real.lockCartLine(input);
      },
    });
    const t = await dev.startWorker(removedFirst);
    const { sku, cartId } = await cartWithLines(t, 3, [1]);
    const orderId = uniqueId('order');
    const err = await checkout(t, { orderId, cartId, paymentToken: 'tok_visa' }).catch((e: unknown) => e);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('cart_empty');
    expect(await gatewayRecords(orderId)).toEqual({ charges: 0, refunds: 0 });
    expect((await checkInvariants(t.stock, shards, sku)).totals).toMatchObject({ sold: 0, held: 0, available: 3 });
  });
});
