import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collections, type ShardSet } from '../src/db';
import { checkSystem } from '../src/ops/check-system';
import { StockService } from '../src/stock';
import type { CartLine, Order } from '../src/contract/types';
import { HoldStatus, Sku } from '../src/contract/search-attributes';
import { workflowIds } from '../src/contract/workflow-ids';
import { connectTestShards, expectCleanLedger, productInput, uniqueId } from './helpers';
import { addToCart, createTestWorker, startWorkerProcess, type TestWorker } from './workflow-helpers';

describe('on the real dev server', () => {
  let connection: Connection;
  let client: Client;
  let shards: ShardSet;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection });
    shards = await connectTestShards();
  });
  afterAll(async () => {
    await connection?.close();
    await shards?.close();
  });

  it('300 concurrent add-to-carts for 100 units: exactly 100 held, 200 out of stock; all return after the TTL', async () => {
    const { NativeConnection } = await import('@temporalio/worker');
    const native = await NativeConnection.connect({ address: inject('temporalAddress') });
    const w: TestWorker = await createTestWorker({ client, nativeConnection: native }, shards);
    const running = w.worker.run();
    try {
      const sku = uniqueId('flash');
      await w.stock.createProduct(productInput(sku, { buckets: 8 }), 100);
      // Long enough that no hold lapses before all 300 answers are in, even on a busy 2-core machine.
      const ttlSeconds = 90;
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          addToCart(client, w.taskQueue, {
            holdId: uniqueId(`s${i}`),
            cartId: uniqueId('cart'),
            sku,
            quantity: 1,
            ttlSeconds,
          }),
        ),
      );
      // Every answer came before the first hold could lapse, so no unit was sold twice over time.
      expect(Date.now() - started).toBeLessThan(ttlSeconds * 1000);
      const held = results.filter((r) => r.status === 'held');
      expect(held).toHaveLength(100);
      expect(results.filter((r) => r.status === 'out_of_stock')).toHaveLength(200);
      expect((await new StockService(shards).summary(sku)).held).toBe(100);

      // Ops can filter runs in the Web UI by the search attributes the hold workflow upserts.
      const described = await client.workflow.getHandle(workflowIds.hold(held[0]!.holdId)).describe();
      expect(described.typedSearchAttributes.get(Sku)).toBe(sku);
      expect(described.typedSearchAttributes.get(HoldStatus)).toBe('held');
      // What `temporal workflow count --query "HoldStatus='held'"` answers: every line holding stock (visibility
      // is eventually consistent, so wait for it).
      const count = async () => (await client.workflow.count(`Sku = '${sku}' AND HoldStatus = 'held'`)).count;
      await expect.poll(count, { timeout: 10_000 }).toBe(100);
      // The refused runs say so; none of them counts as holding.
      const refused = async () => (await client.workflow.count(`Sku = '${sku}' AND HoldStatus = 'out_of_stock'`)).count;
      await expect.poll(refused, { timeout: 10_000 }).toBe(200);
      // A run starts as held (its start carries the status), so its first workflow task records no upsert.
      const history = await client.workflow.getHandle(workflowIds.hold(held[0]!.holdId)).fetchHistory();
      const events = history.events ?? [];
      const answered = events.findIndex((e) => e.workflowExecutionUpdateCompletedEventAttributes);
      expect(answered).toBeGreaterThan(0);
      expect(events.slice(0, answered).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toEqual([]);

      await Promise.all(held.map((r) => client.workflow.getHandle(workflowIds.hold(r.holdId)).result()));
      const report = await expectCleanLedger(w.stock, shards, sku);
      expect(report.totals).toMatchObject({ available: 100, held: 0, sold: 0 });
    } finally {
      w.worker.shutdown();
      await running;
      await native.close();
    }
  }, 240_000);

  it('killing the worker in the middle of checkouts: each completes or compensates, none charged twice', async () => {
    const taskQueue = uniqueId('killable');
    const startWorker = () => startWorkerProcess(shards, taskQueue);

    const stock = new StockService(shards);
    const sku = uniqueId('kill');
    await stock.createProduct(productInput(sku, { priceCents: 300, buckets: 4 }), 40);
    let worker = await startWorker();
    const orders: { orderId: string; cartId: string; token: string; holdIds: string[] }[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const cartId = uniqueId('cart');
        const holdIds = [uniqueId('line'), uniqueId('line')];
        for (const holdId of holdIds) {
          await addToCart(client, taskQueue, { holdId, cartId, sku, quantity: 1, ttlSeconds: 600 });
        }
        const orderId = uniqueId('order');
        const token = i % 4 === 3 ? 'tok_chargeDeclined' : 'tok_visa';
        orders.push({ orderId, cartId, token, holdIds });
        await client.workflow.start('checkoutWorkflow', {
          workflowId: workflowIds.checkout(cartId),
          taskQueue,
          args: [{ orderId, cartId, paymentToken: token }],
        });
      }
      worker.kill('SIGKILL');
      await new Promise((resolve) => worker.once('exit', resolve));
      worker = await startWorker();

      const outcomes = await Promise.all(
        orders.map(({ cartId }) =>
          client.workflow
            .getHandle(workflowIds.checkout(cartId))
            .result()
            .then((o: Order) => o.status)
            .catch((e: unknown) => (e instanceof WorkflowFailedError ? 'failed' : Promise.reject(e))),
        ),
      );
      orders.forEach(({ token }, i) => expect(outcomes[i]).toBe(token === 'tok_visa' ? 'completed' : 'failed'));

      const gateway = shards.cartsDb(0).collection(collections.carts.gateway);
      for (const { orderId, token } of orders) {
        expect(await gateway.countDocuments({ chargeId: `ch_${orderId}`, kind: 'charge' })).toBe(
          token === 'tok_visa' ? 1 : 0,
        );
      }
      const completed = outcomes.filter((o) => o === 'completed').length;
      const report = await expectCleanLedger(stock, shards, sku);
      // Completed orders sold their two units each; failed orders gave theirs back to their carts.
      expect(report.totals).toMatchObject({ sold: completed * 2, held: (orders.length - completed) * 2 });
      // A failed order's lines are given back by their own workflows after the saga ends (an unlock, then the
      // line's row saved): the check must be clean once they have, within seconds, and stay so.
      let system = await checkSystem(stock, shards);
      for (let waited = 0; system.violations.length > 0 && waited < 20_000; waited += 500) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        system = await checkSystem(stock, shards);
      }
      expect(system.violations).toEqual([]);
      expect(system.counts).toMatchObject({ charges: completed, refunds: 0 });

      // The lines of completed orders end purchased (their hold workflows finish on the purchased signal).
      for (const { token, holdIds } of orders.filter((o) => o.token === 'tok_visa')) {
        for (const holdId of holdIds) {
          const line: CartLine = await client.workflow.getHandle(workflowIds.hold(holdId)).result();
          expect(line.status, token).toBe('purchased');
        }
      }
    } finally {
      worker.kill('SIGTERM');
    }
  }, 240_000);
});
