/**
 * Records workflow histories for the replay test (test/replay.test.ts): runs each workflow type through its
 * main paths on a throwaway stack and writes test/fixtures/histories/r<hold revision>/<name>.json. Run it when releasing a
 * workflow change, *before* changing the code further: the replay test then proves the new code still
 * replays what the released code recorded (guard incompatible changes with patched()).
 *
 *   node --import tsx scripts/record-histories.ts [FOLDER]
 *
 * FOLDER (default `r<hold revision>`) names the recordings when the workflows changed under one revision in a
 * way guarded by something else (e.g. `r4-status-at-start`: runs that start with their HoldStatus).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { ensureSchema, ShardSet } from '../src/db';
import { ensureTemporalBinaries, freePorts, repoRoot, run as runCommand, startStack } from '../src/infra';
import { activityDeps, createWorker } from '../src/worker';
import {
  addToCartUpdate,
  approveReorderSignal,
  changeQuantityUpdate,
  receiveReorderSignal,
  removeLineUpdate,
} from '../src/contract/messages';
import { holdStartOperation } from '../src/api/hold-start';
import { holdRevision, type HoldWorkflowInput } from '../src/contract/types';
import { workflowIds } from '../src/contract/workflow-ids';

async function run() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'holdfast-record-'));
  const [temporalPort, ...ferretDbPorts] = await freePorts(3);
  const config = loadConfig({ ...process.env, TEMPORAL_PORT: String(temporalPort) });
  const stack = await startStack(config, { dataDir, logDir: dataDir, ui: false, ferretDbPorts });
  const shards = await ShardSet.connect({ uris: stack.mongoUris, stockDb: 'record_stock', cartsDb: 'record_carts' });
  const native = await NativeConnection.connect({ address: stack.temporalAddress });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  const taskQueue = 'record';
  try {
    await ensureSchema(shards);
    const deps = activityDeps(shards, client, taskQueue);
    const worker = await createWorker({ connection: native, namespace: 'default', deps });
    await worker.runUntil(async () => {
      const product = (sku: string, policy: 'strict' | 'backorder', qty: number, low = 0, reorder = 0) =>
        deps.stock.createProduct(
          { sku, name: sku, priceCents: 500, policy, buckets: 2, lowStockThreshold: low, reorderQuantity: reorder },
          qty,
        );
      await product('rec-strict', 'strict', 10, 9, 5);
      await product('rec-back', 'backorder', 0);
      const add = (input: Omit<HoldWorkflowInput, 'maxHoldSeconds'>) =>
        client.workflow.executeUpdateWithStart(addToCartUpdate, {
          startWorkflowOperation: holdStartOperation({ maxHoldSeconds: 3600, ...input }, taskQueue),
        });
      const result = (id: string) => client.workflow.getHandle(id).result();

      await add({ holdId: 'expired', cartId: 'cart-a', sku: 'rec-strict', quantity: 1, ttlSeconds: 2 });
      await result(workflowIds.hold('expired'));
      await add({ holdId: 'removed', cartId: 'cart-a', sku: 'rec-strict', quantity: 2, ttlSeconds: 600 });
      await client.workflow.getHandle(workflowIds.hold('removed')).executeUpdate(removeLineUpdate);
      await add({ holdId: 'bought', cartId: 'cart-b', sku: 'rec-strict', quantity: 2, ttlSeconds: 600 });
      await client.workflow.execute('checkoutWorkflow', {
        workflowId: workflowIds.checkout('cart-b'),
        taskQueue,
        args: [{ orderId: 'paid', cartId: 'cart-b', paymentToken: 'tok_visa' }],
      });
      await result(workflowIds.hold('bought'));
      await add({ holdId: 'declined-line', cartId: 'cart-c', sku: 'rec-strict', quantity: 2, ttlSeconds: 5 });
      await client.workflow
        .getHandle(workflowIds.hold('declined-line'))
        .executeUpdate(changeQuantityUpdate, { args: [{ quantity: 1 }] });
      await client.workflow
        .execute('checkoutWorkflow', {
          workflowId: workflowIds.checkout('cart-c'),
          taskQueue,
          args: [{ orderId: 'declined', cartId: 'cart-c', paymentToken: 'tok_chargeDeclined' }],
        })
        .catch(() => undefined);
      await result(workflowIds.hold('declined-line'));
      const reorder = client.workflow.getHandle(workflowIds.reorder('rec-strict'));
      await reorder.signal(approveReorderSignal, { by: 'ops' });
      await reorder.signal(receiveReorderSignal, {});
      await reorder.result();
      await add({ holdId: 'waiting', cartId: 'cart-d', sku: 'rec-back', quantity: 1, ttlSeconds: 2 });
      await deps.temporal.workflow.signalWithStart('backorderQueueWorkflow', {
        workflowId: workflowIds.backorders('rec-back'),
        taskQueue,
        args: [{ sku: 'rec-back' }],
        signal: 'restock',
        signalArgs: [{ opId: 'po-rec', quantity: 3 }],
      });
      await result(workflowIds.hold('waiting'));
      // Revision 5 on: a waitlist (a strict SKU with offerSeconds), one line leaving it, one offered and lapsing.
      await deps.stock.createProduct(
        {
          sku: 'rec-wait',
          name: 'rec-wait',
          priceCents: 500,
          policy: 'strict',
          buckets: 2,
          lowStockThreshold: 0,
          reorderQuantity: 0,
          offerSeconds: 2,
        },
        0,
      );
      await add({ holdId: 'offered', cartId: 'cart-e', sku: 'rec-wait', quantity: 1, ttlSeconds: 600, waitlist: true });
      await add({ holdId: 'left', cartId: 'cart-f', sku: 'rec-wait', quantity: 1, ttlSeconds: 600, waitlist: true });
      await client.workflow.getHandle(workflowIds.hold('left')).executeUpdate(removeLineUpdate);
      await deps.temporal.workflow.signalWithStart('backorderQueueWorkflow', {
        workflowId: workflowIds.backorders('rec-wait'),
        taskQueue,
        args: [{ sku: 'rec-wait' }],
        signal: 'restock',
        signalArgs: [{ opId: 'po-rec-wait', quantity: 1 }],
      });
      await result(workflowIds.hold('offered'));
    });

    const recorded = {
      'hold-expired': workflowIds.hold('expired'),
      'hold-removed': workflowIds.hold('removed'),
      'hold-purchased': workflowIds.hold('bought'),
      'hold-backorder-filled': workflowIds.hold('waiting'),
      'hold-waitlist-offer-expired': workflowIds.hold('offered'),
      'hold-waitlist-left': workflowIds.hold('left'),
      'checkout-completed': workflowIds.checkout('cart-b'),
      'checkout-declined': workflowIds.checkout('cart-c'),
      'reorder-received': workflowIds.reorder('rec-strict'),
    };
    // The CLI's JSON is the format the Web UI downloads and historyFromJSON reads. Each hold revision keeps
    // its own recordings: runs of every revision may still be open when the code changes again.
    const outDir = path.join(repoRoot, 'test', 'fixtures', 'histories', process.argv[2] ?? `r${holdRevision}`);
    await mkdir(outDir, { recursive: true });
    const { cli } = await ensureTemporalBinaries(config.home, config.PATH);
    for (const [name, workflowId] of Object.entries(recorded)) {
      const json = await runCommand(cli, [
        'workflow',
        'show',
        '--workflow-id',
        workflowId,
        '--output',
        'json',
        '--address',
        stack.temporalAddress,
      ]);
      const file = path.join(outDir, `${name}.json`);
      await writeFile(file, json);
      console.log(`recorded ${file}`);
    }
  } finally {
    await connection.close();
    await native.close();
    await shards.close();
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
