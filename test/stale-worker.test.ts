import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { GatewayRecord } from '../src/activities';
import { loadConfig } from '../src/config';
import { removeLineUpdate } from '../src/contract/messages';
import type { CartLine, CheckoutInput, Order } from '../src/contract/types';
import { workflowIds } from '../src/contract/workflow-ids';
import { collections, type ShardSet } from '../src/db';
import {
  ensureToxiproxyBinary,
  freePorts,
  repoRoot,
  startProcess,
  Toxiproxies,
  type ManagedProcess,
} from '../src/infra';
import { checkSystem } from '../src/ops/check-system';
import { bucketsOf, StockService } from '../src/stock';
import { connectTestShards, expectCleanLedger, productInput, uniqueId } from './helpers';
import { addToCart, createTestWorker, workflowBundle, type TestWorker } from './workflow-helpers';

/**
 * A stale worker: one frozen (SIGSTOP) in the middle of an activity for longer than the activity's start-to-close
 * timeout, so that Temporal gives the activity to another worker on the task queue, which finishes the workflow;
 * then the frozen one runs on (SIGCONT) and its attempt's write reaches FerretDB last. What it may do then is
 * what Temporal cannot stop: the server refuses its attempt's result, but not its writes. So every write it makes
 * must be one that changes nothing when another attempt of the same step has already gone through.
 *
 * Which activities a stale worker can really hold: regular activities (the checkout's steps, the payment, a hold's
 * release when its line ends), since their attempts are timed by the server and retried elsewhere while the first
 * attempt's process may still live. The hold's reservation and row saves on the add-to-cart path are local
 * activities inside a workflow task: a frozen worker's workflow task times out, another worker replays the run
 * and runs them again from the start, and the server refuses the frozen worker's completion of that task; its
 * late ledger writes meet the same unique keys as the writes below (the take's claim per operation id).
 *
 * How the stale attempt is caught mid-flight without a hook in the code: the stale worker is a process of its own
 * (src/worker.ts) that reaches the shards and Temporal through its own Toxiproxy proxies. Ids are chosen so that
 * the activity under test is its first request to shard 0 after an upstream latency of 10 minutes is put on its
 * shard-0 proxy: the request leaves the worker and waits in Toxiproxy. The test sees the attempt started
 * (describe), freezes the worker and closes its link to Temporal, lets another worker (this process, same task
 * queue) retry and finish, then resumes the stale worker and heals its proxy, which lets the held request through
 * at once: the stale attempt's write lands after the retry's, and the stale worker runs its attempt to the end.
 */
describe('a stale worker resumed after its activity was retried elsewhere', () => {
  let toxiproxy: Toxiproxies;
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let taskQueue: string;
  let stale: ManagedProcess;
  let bundleDir: string;
  let stock: StockService;

  beforeAll(async () => {
    const config = loadConfig();
    toxiproxy = await Toxiproxies.start({
      binary: await ensureToxiproxyBinary(config.home, config.PATH),
      logFile: path.join(config.home, 'logs', `toxiproxy-test-${process.pid}.log`),
    });
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
    shards = await connectTestShards();
    stock = new StockService(shards);
    const staleUris: string[] = [];
    for (const [shard, uri] of inject('mongoUris').entries()) {
      staleUris.push(`mongodb://${await toxiproxy.proxy(`stale-shard-${shard}`, new URL(uri).host)}/`);
    }
    const staleTemporal = await toxiproxy.proxy('stale-temporal', inject('temporalAddress'));
    taskQueue = uniqueId('stale');
    // The bundle this file's workers run, so the stale worker does not run webpack at its start.
    bundleDir = await mkdtemp(path.join(os.tmpdir(), 'holdfast-stale-'));
    const bundlePath = path.join(bundleDir, 'workflow-bundle.js');
    await writeFile(bundlePath, (await workflowBundle()).code);
    const [metricsPort] = await freePorts(1);
    stale = startProcess(
      'stale worker',
      process.execPath,
      ['--import', 'tsx', 'src/worker.ts'],
      path.join(config.home, 'logs', `stale-worker-test-${process.pid}.log`),
      {
        cwd: repoRoot,
        graceMs: 5_000,
        env: {
          ...process.env,
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          TEMPORAL_ADDRESS: staleTemporal,
          TEMPORAL_TASK_QUEUE: taskQueue,
          MONGODB_URI: staleUris.join(','),
          STOCK_DB: shards.stockDb(0).databaseName,
          CARTS_DB: shards.cartsDb(0).databaseName,
          WORKER_METRICS_PORT: String(metricsPort),
          WORKFLOW_BUNDLE: bundlePath,
        },
      },
    );
    await pollersOn(taskQueue);
  });

  afterAll(async () => {
    await toxiproxy?.enable('stale-temporal');
    stale?.kill('SIGCONT');
    await stale?.stop();
    await env?.teardown();
    await stock?.close();
    await shards?.close();
    await toxiproxy?.stop();
    if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
  });

  /** Waits until the stale worker polls the task queue for workflow and activity tasks. */
  async function pollersOn(queue: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const polling = await Promise.all(
        [1 /* TASK_QUEUE_TYPE_WORKFLOW */, 2 /* TASK_QUEUE_TYPE_ACTIVITY */].map(async (taskQueueType) => {
          const r = await env.client.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: queue },
            taskQueueType,
          });
          return (r.pollers ?? []).length > 0;
        }),
      );
      if (polling.every(Boolean)) return;
      if (!stale.running() || Date.now() > deadline) {
        throw new Error(`the stale worker does not poll ${queue}; see ${stale.logFile}`);
      }
      await sleep(100);
    }
  }

  /** Waits until a worker has taken `activity` of the run (pending, started), and returns its attempt. */
  async function activityStarted(handle: WorkflowHandle, activity: string): Promise<number> {
    for (;;) {
      const { raw } = await handle.describe();
      const started = raw.pendingActivities?.find(
        (a) => a.activityType?.name === activity && a.state === 2 /* PENDING_ACTIVITY_STATE_STARTED */,
      );
      if (started) return started.attempt ?? 1;
      await sleep(20);
    }
  }

  /** An id with `prefix` whose hash places it on `shard`. */
  function idOn(prefix: string, shard: number): string {
    for (;;) {
      const id = uniqueId(prefix);
      if (shards.shardFor(id) === shard) return id;
    }
  }

  /** A strict SKU of one bucket on `shard`, where its product record is too (a SKU's first bucket is its home's). */
  function skuOn(shard: number): string {
    const sku = idOn('sku', shard);
    expect(bucketsOf(sku, 1, shards.size)[0]!.shard).toBe(shard);
    return sku;
  }

  /**
   * Freezes the stale worker once it has taken `activity` of `handle`'s run, with that activity's first write to
   * shard 0 held by its proxy; starts a worker in this process on the same task queue to take the retry. Returns
   * that worker and when it started (from then until its resumption the stale worker makes nothing).
   */
  async function freezeMidActivity(handle: WorkflowHandle, activity: string) {
    expect(await activityStarted(handle, activity)).toBe(1);
    stale.kill('SIGSTOP');
    // Frozen, it also loses its link to Temporal: otherwise its long polls, still open, would be handed the
    // retry and the next workflow tasks, which it cannot run, and each would wait out its own timeout (the
    // payment's second and last attempt too, failing the order). Temporal drops a poller whose connection ended.
    await toxiproxy.disable('stale-temporal');
    const retryFrom = new Date();
    const retrier = await createTestWorker(env, shards, undefined, undefined, taskQueue);
    return { retrier, running: retrier.worker.run(), retryFrom };
  }

  /**
   * Resumes the stale worker, then lets its held write through, and waits until it has finished its attempt and
   * the server has refused the attempt's result (an attempt that timed out is no longer the activity's).
   */
  async function resumeStale(logFrom: number): Promise<void> {
    await toxiproxy.enable('stale-temporal');
    stale.kill('SIGCONT');
    await toxiproxy.heal('stale-shard-0');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const log = (await readFile(stale.logFile, 'utf8')).slice(logFrom);
      if (log.includes('Activity not found on completion')) return;
      if (Date.now() > deadline) throw new Error(`the stale worker's attempt did not end; its log:\n${log}`);
      await sleep(200);
    }
  }

  async function stop(w: { retrier: TestWorker; running: Promise<void> }) {
    w.retrier.worker.shutdown();
    await w.running;
  }

  it('charges once when its chargePayment lands after the retry charged and the order completed', async () => {
    // Everything of the checkout on shard 1 (cart, lines, order, the SKU's record and bucket) but the payment
    // provider's records, which live on shard 0: the charge is the checkout's first write to shard 0.
    const sku = skuOn(1);
    const cartId = idOn('cart', 1);
    const orderId = idOn('order', 1);
    await stock.createProduct(productInput(sku, { buckets: 1, priceCents: 250 }), 5);
    const holdIds = [uniqueId('line'), uniqueId('line')];
    for (const [k, holdId] of holdIds.entries()) {
      const r = await addToCart(env.client, taskQueue, { holdId, cartId, sku, quantity: k + 1, ttlSeconds: 600 });
      expect(r.status).toBe('held');
    }

    // The interleaving forced:
    //   1. the stale worker runs the checkout up to chargePayment (attempt 1) and sends the charge's insert,
    //      which Toxiproxy holds; it is frozen there;
    //   2. attempt 1 times out (10 s); attempt 2 runs on the retrier, which charges, records the order completed,
    //      commits the holds and marks the lines purchased (the runs move to it once the stale worker's sticky
    //      queue times out);
    //   3. the stale worker runs on and its attempt-1 insert of the same charge reaches FerretDB.
    // The charge's slot `charge:<orderId>` is filled by one insert on a unique _id and never changed, so the late
    // insert is refused and the standing charge is the retry's; the stale attempt's result is refused by the
    // server, so the workflow, already completed, never sees it.
    const logFrom = (await readFile(stale.logFile, 'utf8')).length;
    await toxiproxy.latency('stale-shard-0', 10 * 60_000, 0, 'upstream');
    const input: CheckoutInput = { orderId, cartId, paymentToken: 'tok_visa' };
    const handle = await env.client.workflow.start('checkoutWorkflow', {
      workflowId: workflowIds.checkout(cartId),
      taskQueue,
      args: [input],
    });
    const retry = await freezeMidActivity(handle, 'chargePayment');
    try {
      const order = (await handle.result()) as Order;
      const completedAt = new Date();
      expect(order).toMatchObject({ status: 'completed', totalCents: 750, chargeId: `ch_${orderId}` });
      for (const holdId of holdIds) {
        const line = (await env.client.workflow.getHandle(workflowIds.hold(holdId)).result()) as CartLine;
        expect(line.status).toBe('purchased');
      }

      await resumeStale(logFrom);

      const gateway = shards.cartsDb(0).collection<GatewayRecord>(collections.carts.gateway);
      const records = await gateway
        .find({ _id: { $in: [`charge:${orderId}`, `refund:${orderId}`] } } as never)
        .toArray();
      expect(records).toHaveLength(1);
      const [charge] = records;
      expect(charge).toMatchObject({ kind: 'charge', chargeId: `ch_${orderId}`, amountCents: 750 });
      // Written by the retry: the stale worker could write nothing between its freeze and the order's completion.
      expect(charge!.at.getTime()).toBeGreaterThanOrEqual(retry.retryFrom.getTime());
      expect(charge!.at.getTime()).toBeLessThanOrEqual(completedAt.getTime());
      const ledger = await expectCleanLedger(stock, shards, sku);
      expect(ledger.totals).toMatchObject({ sold: 3, held: 0, available: 2 });
      const system = await checkSystem(stock, shards);
      expect(system.violations).toEqual([]);
      expect(system.totals).toMatchObject({ chargedCents: 750, refundedCents: 0, ordersCents: 750 });
      const stored = await shards
        .cartsDb(shards.shardFor(orderId))
        .collection<Order>(collections.carts.orders)
        .findOne({ _id: orderId } as never);
      expect(stored?.status).toBe('completed');
    } finally {
      await stop(retry);
    }
  }, 180_000);

  it('releases a hold once when its settleHolds lands after the retry released it and the line ended', async () => {
    // The line's cart and row on shard 1, the SKU's one bucket on shard 0 (its record too, which the stale worker
    // has read and keeps): once the line is held, the release is its first request to shard 0.
    const sku = skuOn(0);
    const cartId = idOn('cart', 1);
    await stock.createProduct(productInput(sku, { buckets: 1 }), 3);
    const holdId = uniqueId('line');
    const held = await addToCart(env.client, taskQueue, { holdId, cartId, sku, quantity: 2, ttlSeconds: 600 });
    expect(held.status).toBe('held');

    // The interleaving forced:
    //   1. the line is removed; the stale worker runs its ending, settleHolds (attempt 1), whose release of the
    //      hold (or the read of the bucket's head before it) Toxiproxy holds; it is frozen there;
    //   2. attempt 1 times out (30 s); attempt 2 runs on the retrier, which releases the hold, and the run saves
    //      the line removed and ends;
    //   3. the stale worker runs on and its attempt-1 request on the bucket reaches FerretDB: at best an append of
    //      the same release at the head it read, now taken by the retry's.
    // A hold is settled under one key, `settle:<holdId>`, unique per bucket, and an entry's seq is unique: the late
    // append is refused (and, read again, found settled), so the units come back once.
    const logFrom = (await readFile(stale.logFile, 'utf8')).length;
    await toxiproxy.latency('stale-shard-0', 10 * 60_000, 0, 'upstream');
    const handle = env.client.workflow.getHandle(workflowIds.hold(holdId));
    const removing = handle.executeUpdate(removeLineUpdate);
    const retry = await freezeMidActivity(handle, 'settleHolds');
    try {
      expect((await removing).line.status).toBe('removed');
      expect(((await handle.result()) as CartLine).status).toBe('removed');

      await resumeStale(logFrom);

      // Settled once (the checker counts each hold's settles) and released: every unit is available again.
      const ledger = await expectCleanLedger(stock, shards, sku);
      expect(ledger.totals).toMatchObject({ sold: 0, held: 0, available: 3 });
      const system = await checkSystem(stock, shards);
      expect(system.violations).toEqual([]);
    } finally {
      await stop(retry);
    }
  }, 180_000);
});
