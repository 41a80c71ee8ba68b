import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { collections, type ShardSet } from '../src/db';
import { checkSystem } from '../src/ops/check-system';
import { changeQuantityUpdate } from '../src/contract/messages';
import type { CheckoutInput, Order } from '../src/contract/types';
import { workflowIds } from '../src/contract/workflow-ids';
import { uniqueId } from './helpers';
import { cartWithHeldLines, type TestWorker, useDevServerWorkers } from './workflow-helpers';

/**
 * The checkout saga against what shoppers and providers do at the same time, on the dev server in real time
 * (holds must not lapse while a checkout runs). After each race the system check must be clean: money and stock
 * agree.
 */
describe('checkout races (dev server)', () => {
  const dev = useDevServerWorkers();
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let w: TestWorker;
  beforeAll(() => ({ env, shards, w } = dev));
  const startWorker = (gatewayTimeoutMs?: number) => dev.startWorker(() => ({}), gatewayTimeoutMs);

  const cart = (t: TestWorker, units: number, quantities: number[], priceCents = 300) =>
    cartWithHeldLines(env.client, t, { units, quantities, priceCents });

  /** Runs a checkout under its own workflow id, as two runs of one cart would if nothing serialised them. */
  function checkout(t: TestWorker, input: CheckoutInput, workflowId = workflowIds.checkout(input.cartId)) {
    return env.client.workflow.execute('checkoutWorkflow', { workflowId, taskQueue: t.taskQueue, args: [input] }).then(
      (order: Order) => order,
      (err: unknown) => {
        if (err instanceof WorkflowFailedError) return { status: 'failed' as const, reason: err.cause?.message };
        throw err;
      },
    );
  }

  async function expectClean() {
    const report = await checkSystem(w.stock, shards);
    expect(report.violations).toEqual([]);
    return report;
  }

  it('two checkouts of one cart at once buy each line once and charge once', async () => {
    const { sku, cartId } = await cart(w, 5, [2, 1]);
    const [a, b] = await Promise.all([
      checkout(w, { orderId: uniqueId('oa'), cartId, paymentToken: 'tok_visa' }, `${workflowIds.checkout(cartId)}-a`),
      checkout(w, { orderId: uniqueId('ob'), cartId, paymentToken: 'tok_visa' }, `${workflowIds.checkout(cartId)}-b`),
    ]);
    const completed = [a, b].filter((o) => o.status === 'completed') as Order[];
    expect(completed.length).toBeLessThanOrEqual(1);
    const report = await expectClean();
    const units = completed.reduce((sum, o) => sum + o.lines.reduce((n, l) => n + l.quantity, 0), 0);
    expect(report.totals.sold[sku] ?? 0).toBe(units);
    expect(report.totals.chargedCents - report.totals.refundedCents).toBe(units * 300);
  });

  it('a quantity change racing a checkout: what is charged is what is sold', async () => {
    for (const quantity of [1, 5]) {
      const { sku, cartId, holdIds } = await cart(w, 8, [3], 700);
      const orderId = uniqueId('order');
      const [order] = await Promise.all([
        checkout(w, { orderId, cartId, paymentToken: 'tok_visa' }),
        env.client.workflow
          .getHandle(workflowIds.hold(holdIds[0]!))
          .executeUpdate(changeQuantityUpdate, { args: [{ quantity }] })
          .catch(() => undefined), // refused while the line is locked: then the checkout buys 3
      ]);
      expect(order.status).toBe('completed');
      const report = await expectClean();
      const sold = report.totals.sold[sku]!;
      expect([3, quantity]).toContain(sold);
      expect((order as Order).totalCents).toBe(sold * 700);
    }
  });

  it("a declined checkout that locked a line still busy after its first answer leaves the line the cart's", async () => {
    // A revision 3 line (still running during a deploy) answers `held` and then runs afterStockTaken; a checkout
    // locks the line and gives it back (the card is declined) before that is done. The line must end the cart's
    // again: pending, no order on its row.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let entered = false;
    const held = await dev.startWorker((a) => ({
      afterStockTaken: async (sku: string) => {
        entered = true;
        await gate;
        return a.afterStockTaken(sku);
      },
    }));
    const { cartId, holdIds } = await cartWithHeldLines(env.client, held, {
      units: 4,
      quantities: [1],
      priceCents: 300,
      revision: 3,
    });
    const order = await checkout(held, { orderId: uniqueId('order'), cartId, paymentToken: 'tok_chargeDeclined' });
    expect(order.status).toBe('failed');
    expect(entered).toBe(true); // the checkout ran while the line was busy
    open();
    const rowOf = () => held.activities.getCartLine({ cartId, holdId: holdIds[0]! });
    await expect.poll(async () => (await rowOf())?.orderId ?? null, { timeout: 20_000 }).toBeNull();
    expect((await rowOf())?.status).toBe('pending');
    await expectClean();
  });

  it('a charge that lands after the saga gave up on it is refused or refunded, never kept', async () => {
    // The fake provider answers tok_late only after this long, then charges anyway: past the 10 s activity
    // timeout (twice), so the saga fails payment_failed and compensates while, or before, the charges land.
    const slow = await startWorker(14_000);
    const slower = await startWorker(22_000);
    const [landsFirst, landsLast] = await Promise.all([cart(slow, 2, [1]), cart(slower, 2, [1])]);
    const orderIds = [uniqueId('late'), uniqueId('later')];
    const orders = await Promise.all([
      checkout(slow, { orderId: orderIds[0]!, cartId: landsFirst.cartId, paymentToken: 'tok_late' }),
      checkout(slower, { orderId: orderIds[1]!, cartId: landsLast.cartId, paymentToken: 'tok_late' }),
    ]);
    expect(orders.map((o) => o.status)).toEqual(['failed', 'failed']);
    await new Promise((r) => setTimeout(r, 13_000)); // the last attempts land
    await expectClean();
    const records = await shards
      .cartsDb(0)
      .collection(collections.carts.gateway)
      .find({ _id: { $in: orderIds.flatMap((id) => [`charge:${id}`, `refund:${id}`]) } as never })
      .toArray();
    // The first landed before the saga gave up and was refunded; the second found its key cancelled.
    expect(records.map((r) => `${String(r._id).split(':')[0]}:${r.kind}`).sort()).toEqual([
      'charge:cancel',
      'charge:charge',
      'refund:refund',
    ]);
  }, 120_000);
});
