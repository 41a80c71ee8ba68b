import type { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShardSet } from '../src/db';
import { checkInvariants } from '../src/stock';
import {
  changeQuantityUpdate,
  checkoutAbandonedSignal,
  extendHoldUpdate,
  holdStateQuery,
  lockForCheckoutUpdate,
  removeLineUpdate,
} from '../src/contract/messages';
import { holdRevision } from '../src/contract/types';
import { workflowIds } from '../src/contract/workflow-ids';
import { expectCleanLedger, productInput, uniqueId } from './helpers';
import { addToCart, type TestWorker, useTimeSkippingWorker } from './workflow-helpers';

describe('hold workflow (time-skipping)', () => {
  const ctx = useTimeSkippingWorker();
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let w: TestWorker;
  beforeAll(() => ({ env, shards, w } = ctx));

  async function product(policy: 'strict' | 'backorder' = 'strict', quantity = 10) {
    const sku = uniqueId('sku');
    await w.stock.createProduct(productInput(sku, { policy }), quantity);
    return sku;
  }

  const handle = (holdId: string) => env.client.workflow.getHandle(workflowIds.hold(holdId));

  it('holds stock until the TTL, then releases it and marks the line expired', async () => {
    const sku = await product();
    const holdId = uniqueId('line');
    const cartId = uniqueId('cart');
    const result = await addToCart(env.client, w.taskQueue, { holdId, cartId, sku, quantity: 3, ttlSeconds: 60 });
    expect(result).toMatchObject({ status: 'held', holdId, quantity: 3 });
    expect((await w.stock.summary(sku)).held).toBe(3);

    const line = await handle(holdId).result();
    expect(line).toMatchObject({ status: 'expired', quantity: 3 });
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 10, held: 0 });
    expect((await w.activities.listCartLines(cartId)).map((l) => l.status)).toEqual(['expired']);
  });

  it('extends a hold, but never past the maximum', async () => {
    const sku = await product();
    const holdId = uniqueId('line');
    const first = await addToCart(env.client, w.taskQueue, {
      holdId,
      cartId: uniqueId('cart'),
      sku,
      quantity: 1,
      ttlSeconds: 60,
      maxHoldSeconds: 90,
    });
    if (first.status !== 'held') throw new Error(`expected held, got ${first.status}`);
    await env.sleep(40_000);
    const extended = await handle(holdId).executeUpdate(extendHoldUpdate);
    if (extended.status !== 'held') throw new Error(`expected held, got ${extended.status}`);
    // 40 s in, +60 s would pass the 90 s maximum: capped at 90 s after the start.
    expect(Date.parse(extended.expiresAt) - Date.parse(first.expiresAt)).toBe(30_000);
    await env.sleep(30_000);
    expect((await handle(holdId).query(holdStateQuery)).line.status).toBe('pending');
    expect((await handle(holdId).result()).status).toBe('expired');
    expect((await w.stock.summary(sku)).available).toBe(10);
  });

  it('releases at once when the line is removed', async () => {
    const sku = await product();
    const holdId = uniqueId('line');
    await addToCart(env.client, w.taskQueue, { holdId, cartId: uniqueId('cart'), sku, quantity: 2 });
    const { line } = await handle(holdId).executeUpdate(removeLineUpdate);
    expect(line.status).toBe('removed');
    expect((await w.stock.summary(sku)).available).toBe(10);
    await expectCleanLedger(w.stock, shards, sku);
  });

  it('changes quantity by reserving or releasing the difference', async () => {
    const sku = await product('strict', 6);
    const holdId = uniqueId('line');
    await addToCart(env.client, w.taskQueue, { holdId, cartId: uniqueId('cart'), sku, quantity: 2 });
    expect(await handle(holdId).executeUpdate(changeQuantityUpdate, { args: [{ quantity: 5 }] })).toMatchObject({
      status: 'held',
      quantity: 5,
    });
    expect(await handle(holdId).executeUpdate(changeQuantityUpdate, { args: [{ quantity: 9 }] })).toMatchObject({
      status: 'out_of_stock',
      available: 1,
    });
    expect(await handle(holdId).executeUpdate(changeQuantityUpdate, { args: [{ quantity: 3 }] })).toMatchObject({
      status: 'held',
      quantity: 3,
    });
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 3, held: 3 });
    await handle(holdId).executeUpdate(removeLineUpdate);
    expect((await w.stock.summary(sku)).available).toBe(6);
  });

  it('refuses a strict SKU without stock, and backorders a backorder SKU', async () => {
    const strict = await product('strict', 1);
    const backorder = await product('backorder', 0);
    const cartId = uniqueId('cart');
    expect(
      await addToCart(env.client, w.taskQueue, { holdId: uniqueId('l'), cartId, sku: strict, quantity: 2 }),
    ).toMatchObject({ status: 'out_of_stock', available: 1 });
    expect(
      await addToCart(env.client, w.taskQueue, { holdId: uniqueId('l'), cartId, sku: backorder, quantity: 2 }),
    ).toMatchObject({ status: 'backordered', quantity: 2 });
    expect((await w.activities.listCartLines(cartId)).map((l) => l.status)).toEqual(['backordered']);
  });
  it('checkout after expiry finds no held stock to pay for: no phantom stock, no double release', async () => {
    const sku = await product('strict', 3);
    const cartId = uniqueId('cart');
    const holdId = uniqueId('line');
    await addToCart(env.client, w.taskQueue, { holdId, cartId, sku, quantity: 1, ttlSeconds: 60 });
    await env.sleep(61_000);
    expect((await handle(holdId).result()).status).toBe('expired');
    const err = await env.client.workflow
      .execute('checkoutWorkflow', {
        workflowId: workflowIds.checkout(cartId),
        taskQueue: w.taskQueue,
        args: [{ orderId: uniqueId('order'), cartId, paymentToken: 'tok_visa' }],
      })
      .catch((e: unknown) => e);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('cart_empty');
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 3, held: 0, sold: 0 });
  });

  it('shrinks a line on a sold-out SKU by one partial release', async () => {
    const sku = await product('strict', 3);
    const holdId = uniqueId('line');
    await addToCart(env.client, w.taskQueue, { holdId, cartId: uniqueId('cart'), sku, quantity: 3 });
    expect(await handle(holdId).executeUpdate(changeQuantityUpdate, { args: [{ quantity: 1 }] })).toMatchObject({
      status: 'held',
      quantity: 1,
    });
    const { line } = await handle(holdId).query(holdStateQuery);
    expect(line.holds.reduce((sum, h) => sum + h.qty, 0)).toBe(1);
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 2, held: 1 });
    expect((await handle(holdId).result()).status).toBe('expired');
    expect((await checkInvariants(w.stock, shards, sku)).totals).toMatchObject({ available: 3, held: 0 });
  });

  it('a lock whose checkout no longer runs lapses, and the line expires as usual', async () => {
    const sku = await product('strict', 2);
    const holdId = uniqueId('line');
    const cartId = uniqueId('cart');
    await addToCart(env.client, w.taskQueue, { holdId, cartId, sku, quantity: 1, ttlSeconds: 60 });
    // A checkout that locked the line and was then terminated (no run, no order): nobody will ever unlock it.
    const lock = await handle(holdId).executeUpdate(lockForCheckoutUpdate, { args: [{ orderId: 'o-gone' }] });
    expect(lock.status).toBe('locked');
    expect(await handle(holdId).executeUpdate(lockForCheckoutUpdate, { args: [{ orderId: 'o-other' }] })).toMatchObject(
      {
        status: 'locked_by_other',
        orderId: 'o-gone',
      },
    );
    const line = await handle(holdId).result();
    expect(line.status).toBe('expired');
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 2, held: 0, sold: 0 });
  });

  it('never reopens a line that has ended, even when a new run starts for its id', async () => {
    const sku = await product('strict', 5);
    const holdId = uniqueId('line');
    const cartId = uniqueId('cart');
    await addToCart(env.client, w.taskQueue, { holdId, cartId, sku, quantity: 2, ttlSeconds: 60 });
    expect((await handle(holdId).result()).status).toBe('expired');
    // As after Temporal's retention forgot the run: the same line id starts again (here under another run id).
    const again = await env.client.workflow.execute('holdWorkflow', {
      workflowId: `${workflowIds.hold(holdId)}-again`,
      taskQueue: w.taskQueue,
      args: [{ holdId, cartId, sku, quantity: 2, ttlSeconds: 60, maxHoldSeconds: 600, revision: holdRevision }],
    });
    expect(again.status).toBe('expired');
    const report = await expectCleanLedger(w.stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 5, held: 0 });
  });

  it('a removal and a lock that arrive together never both win', async () => {
    const sku = await product('strict', 4);
    for (let i = 0; i < 4; i++) {
      const holdId = uniqueId('line');
      await addToCart(env.client, w.taskQueue, { holdId, cartId: uniqueId('cart'), sku, quantity: 1 });
      const [removed, lock] = await Promise.all([
        handle(holdId)
          .executeUpdate(removeLineUpdate)
          .then(
            (r) => r.line.status,
            () => 'refused',
          ),
        handle(holdId).executeUpdate(lockForCheckoutUpdate, { args: [{ orderId: `o-${i}` }] }),
      ]);
      if (lock.status === 'locked') {
        expect(removed).toBe('refused');
        expect((await handle(holdId).query(holdStateQuery)).lockedBy).toBe(`o-${i}`);
        await handle(holdId).signal(checkoutAbandonedSignal, { orderId: `o-${i}` });
      } else {
        expect(removed).toBe('removed');
        expect(lock.status).toBe('ended');
      }
    }
    await env.sleep(3_600_000);
    expect((await checkInvariants(w.stock, shards, sku)).totals).toMatchObject({ available: 4, held: 0 });
  });
});
