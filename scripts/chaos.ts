/**
 * `npm run chaos`: a flash sale through the real HTTP API while the system is broken underneath it.
 *
 * Starts its own Temporal dev server (with a database file, so a restart keeps its state), FerretDB shards,
 * an API process and a worker process on free ports in a throwaway directory. Shoppers add to carts, repeat
 * requests with the same Idempotency-Key, change and remove lines, check out with tok_visa, tok_chargeDeclined
 * and tok_timeout — some from two tabs at once, some while changing a line's quantity — or let their holds
 * expire; others want a backorder SKU that ops restock during the sale, and wait for it or remove their line,
 * while ops move waiting backorders to the head of the queue. The API and the worker reach the servers through
 * Toxiproxy, and meanwhile the run slows FerretDB shard 0 (latency and jitter), cuts shard 1 off for tens of
 * seconds (lost packets, then reset connections) and heals it, resets shard 0's connections mid-write, SIGKILLs
 * FerretDB shard 1, the worker and the Temporal dev server and starts each again. The sales made during the
 * partition (from the buckets on the reachable shard) are reported. Once every order has finished and
 * every hold's TTL has passed (filled backorders included), the system check (GET /v1/ops/check) and each
 * SKU's ledger check must be clean: sold <= received = what was created and restocked, every hold resolved,
 * ledger = balances, no order completed without its stock, no double charge, no charge without an order or a
 * refund, money taken = completed orders, and the backorders still waiting are exactly the queue. Prints a
 * summary, writes bench/results/chaos.json, exits 1 on any violation or when something never finished.
 *
 *   npm run chaos                # 300 shoppers
 *   npm run chaos -- --short     # CI: 60 shoppers, under 4 minutes
 */
import { setMaxListeners } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot, RunStack } from '../src/infra';
import { ApiClient, describe } from './chaos/api';
import { UsageError } from '../bench/harness/args';
import { parseChaosArgs, usage, type ChaosArgs } from './chaos/args';
import { runFaults } from './chaos/faults';
import { elapsed, log } from './chaos/log';
import { restockAt, runOps } from './chaos/ops';
import { judge, resultJson, summaryText, type PartitionAdd } from './chaos/report';
import { shardOf } from '../src/db/hash';
import { keyDigest } from '../src/api/idempotency';
import { readQueue, readStock, waitForOrders, waitUntilQuiet } from './chaos/settle';
import { runSale, SaleRecord } from './chaos/shoppers';

const resultsFile = path.join(repoRoot, 'bench', 'results', 'chaos.json');

async function run(args: ChaosArgs, signal: AbortSignal): Promise<number> {
  const startedAt = new Date();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'holdfast-chaos-'));
  let stack: RunStack | undefined;
  let passed = false;
  try {
    log(`seed ${args.seed}; servers in ${dataDir}`);
    stack = await RunStack.start({
      layout: 'split',
      dir: dataDir,
      ttlSeconds: args.ttlSeconds,
      shards: 2,
      onUnexpectedExit: (message) => log(`!! ${message} (at +${elapsed()}s)`),
    });
    const api = new ApiClient({ baseUrl: stack.apiUrl, signal, requestTimeoutMs: 30_000, retryForMs: 120_000 });
    const { opsToken } = stack;

    const tag = Date.now().toString(36);
    const skus = Array.from({ length: args.skus }, (_, i) => `chaos-${tag}-${i}`);
    const canarySku = `chaos-${tag}-canary`;
    const backorderSku = `chaos-${tag}-backorder`;
    const products = [
      ...skus.map((sku) => ({ sku, quantity: args.units, policy: 'strict' })),
      { sku: backorderSku, quantity: args.backorderUnits, policy: 'backorder' },
      { sku: canarySku, quantity: 1000, policy: 'strict' },
    ];
    for (const { sku, quantity, policy } of products) {
      const created = await api.send('POST', '/v1/products', 'create product', {
        token: opsToken,
        // Creating a product is idempotent by SKU; the key is for every ops write alike.
        idempotencyKey: `product-${sku}`,
        body: { sku, name: sku, priceCents: 1500, quantity, policy, lowStockThreshold: 0 },
      });
      if (created.status !== 201) throw new Error(`POST /v1/products ${sku}: ${describe(created)}`);
    }
    let probes = 0;
    let canaryExpiry = 0;
    const probe = async () => {
      const cart = await api.send<{ cartId: string; token: string }>('POST', '/v1/carts', 'canary');
      if (cart.status !== 201) throw new Error(`canary cart: ${describe(cart)}`);
      const held = await api.send<{ expiresAt: string }>('POST', `/v1/carts/${cart.body.cartId}/items`, 'canary', {
        token: cart.body.token,
        idempotencyKey: `canary-${probes++}`,
        body: { sku: canarySku, quantity: 1 },
      });
      if (held.status !== 201) throw new Error(`canary add-to-cart: ${describe(held)}`);
      canaryExpiry = Math.max(canaryExpiry, Date.parse(held.body.expiresAt));
    };
    await probe(); // the worker is up and polling before the first shopper arrives
    // Carts whose records, and keys whose lines and answers, live on shard 0: what the partition of shard 1 must
    // not stop (see docs/architecture.md, "During a partition").
    const reachableCarts: { cartId: string; token: string }[] = [];
    while (reachableCarts.length < 2) {
      const cart = await api.send<{ cartId: string; token: string }>('POST', '/v1/carts', 'partition cart');
      if (cart.status !== 201) throw new Error(`partition cart: ${describe(cart)}`);
      if (shardOf(cart.body.cartId, 2) === 0) reachableCarts.push(cart.body);
    }
    const partitionAdds: PartitionAdd[] = [];
    let partitionKeys = 0;
    const partitionLoad = async (stop: AbortSignal) => {
      while (!stop.aborted) {
        const cart = reachableCarts[partitionKeys % reachableCarts.length]!;
        let key: string;
        do key = `partition-${tag}-${partitionKeys++}`;
        while (
          shardOf(`items:${cart.cartId}:${key}`, 2) !== 0 ||
          shardOf(`${cart.cartId}.${keyDigest(cart.cartId, key)}`, 2) !== 0
        );
        const from = Date.now();
        const added = await api.send('POST', `/v1/carts/${cart.cartId}/items`, 'partition add', {
          token: cart.token,
          idempotencyKey: key,
          body: { sku: canarySku, quantity: 1 },
        });
        partitionAdds.push({
          outcome: added.status === 201 ? String(added.body.status) : describe(added),
          from,
          to: Date.now(),
        });
        if (added.status === 201) canaryExpiry = Math.max(canaryExpiry, Date.parse(String(added.body.expiresAt)));
        await sleep(200, undefined, { signal });
      }
    };
    log(
      `servers up; ${args.skus} SKUs x ${args.units} units, a backorder SKU with ${args.backorderUnits} ` +
        `(${restockAt.length} restocks of ${args.restockUnits}); ${args.shoppers} shoppers at concurrency ` +
        `${args.concurrency}; hold TTL ${args.ttlSeconds} s; ` +
        (args.faultIntervalSeconds
          ? `a fault every ${args.faultIntervalSeconds} s`
          : 'seven faults spread over the shoppers'),
    );

    const loadStart = Date.now();
    const record = new SaleRecord();
    const sale = runSale(
      {
        api,
        skus,
        backorderSku,
        shoppers: args.shoppers,
        concurrency: args.concurrency,
        maxLoadSeconds: args.maxLoadSeconds,
        seed: args.seed,
        thinkMs: 300,
        fillWaitMs: args.ttlSeconds * 600,
        signal,
      },
      record,
    );
    const loadDone = sale.then(() => log(`load finished in ${Math.round((Date.now() - loadStart) / 1000)} s`));
    const started = () => record.shoppersStarted / args.shoppers;
    const ops = runOps(
      {
        api,
        opsToken,
        sku: backorderSku,
        restockUnits: args.restockUnits,
        started,
        loadDone: loadDone.catch(() => undefined),
        signal,
      },
      record,
    );
    const faults = runFaults({
      stack,
      schedule: args.faultIntervalSeconds ? { intervalMs: args.faultIntervalSeconds * 1000 } : { started },
      loadDone: loadDone.catch(() => undefined),
      probe,
      signal,
      partitionMs: args.short ? 20_000 : 30_000,
      partitionLoad,
    });
    const [, faultRecords] = await Promise.all([sale, faults, ops]);
    const loadSeconds = Math.round((Date.now() - loadStart) / 100) / 10;

    const settleDeadline = Date.now() + args.settleSeconds * 1000;
    log(`waiting for ${record.orders.length} orders to finish`);
    const orders = await waitForOrders(api, record.orders, settleDeadline, record);
    const quietFrom = Math.max(Date.now(), record.lastExpiry + 5000, canaryExpiry + 5000);
    log(`waiting ${Math.round((quietFrom - Date.now()) / 1000)} s until every hold's TTL has passed`);
    await sleep(quietFrom - Date.now(), undefined, { signal });
    log('checking the system (GET /v1/ops/check, running workflows)');
    // Hold timers that came due while the worker or Temporal was down fire late, but not this late.
    const quietDeadline = Date.now() + (args.short ? 60_000 : 120_000);
    const quiet = await waitUntilQuiet({
      api,
      opsToken,
      temporalAddress: stack.temporalAddress,
      deadline: quietDeadline,
      lastDeadline: quietDeadline + args.settleSeconds * 1000,
      lateMs: 30_000,
      backorderLines: record.backorderLines,
    });
    const stock = await readStock(api, opsToken, [...skus, backorderSku, canarySku]);
    const queue = await readQueue(api, opsToken, backorderSku);
    const restocked = record.restocks.reduce((sum, r) => sum + r.quantity, 0);

    const facts = {
      args,
      skus,
      backorderSku,
      canarySku,
      received: new Map(products.map((p) => [p.sku, p.quantity + (p.sku === backorderSku ? restocked : 0)])),
      queue,
      api,
      sale: record,
      loadSeconds,
      faults: faultRecords,
      partitionAdds,
      orders,
      quiet,
      stock,
      unexpectedExits: stack.unexpectedExits,
    };
    const verdict = judge(facts);
    passed = verdict.violations.length === 0 && verdict.unfinished.length === 0;
    const result = resultJson(facts, verdict, {
      startedAt: startedAt.toISOString(),
      seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
      logs: passed && !args.keep ? null : stack.logDir,
    });
    await mkdir(path.dirname(resultsFile), { recursive: true });
    await writeFile(resultsFile, `${JSON.stringify(result, null, 2)}\n`);
    console.log(summaryText(result));
    console.log(`results   ${path.relative(process.cwd(), resultsFile)}`);
    return passed ? 0 : 1;
  } finally {
    log('stopping every process this run started');
    await stack?.stop();
    if (passed && !args.keep) await rm(dataDir, { recursive: true, force: true });
    else log(`logs and server data kept in ${dataDir}`);
  }
}

let args: ChaosArgs;
try {
  args = parseChaosArgs(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof UsageError ? err.message : err);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const controller = new AbortController();
// Every request and pause listens for Ctrl-C: many at once, by design.
setMaxListeners(0, controller.signal);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}
run(args, controller.signal).then(
  (code) => process.exit(controller.signal.aborted ? 130 : code),
  (err: unknown) => {
    console.error(controller.signal.aborted ? String(controller.signal.reason) : err);
    process.exit(controller.signal.aborted ? 130 : 1);
  },
);
