import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { searchAttributes } from '../src/infra/temporal';
import { createActivities, FakePaymentGateway, type Activities } from '../src/activities';
import { collections, type ShardSet } from '../src/db';
import { connectTestShards, productInput, uniqueId } from './helpers';
import { createMetrics } from '../src/metrics';
import { StockService } from '../src/stock';
import { addToCartUpdate } from '../src/contract/messages';
import { holdRevision, type AddToCartResult, type HoldRevision, type HoldWorkflowInput } from '../src/contract/types';
import { holdStartOperation } from '../src/api/hold-start';
import { workflowsPath } from '../src/worker';

/** The time-skipping test server, with holdfast's search attributes registered like the dev server has them. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(searchAttributes.map((name) => [name, 2 /* KEYWORD */])),
  });
  return env;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never,
  });
  return bundle;
}

export interface TestWorker {
  readonly worker: Worker;
  readonly taskQueue: string;
  readonly stock: StockService;
  readonly activities: Activities;
}

/**
 * A worker on a unique task queue with the real activities (FerretDB, the fake payment provider). `override`
 * replaces activities, to force a saga step to fail or to land a message mid-step.
 */
export async function createTestWorker(
  env: TestWorkflowEnvironment | { client: Client; nativeConnection: Worker['options']['connection'] },
  shards: ShardSet,
  override: (activities: Activities) => Partial<Activities> = () => ({}),
  /** How long the fake provider takes to answer `tok_timeout` and `tok_late`. */
  gatewayTimeoutMs = 30_000,
  /** A queue of its own unless given: another worker polls it too (a stale worker's retries). */
  taskQueue = `test-${randomUUID()}`,
): Promise<TestWorker> {
  const stock = new StockService(shards);
  const activities = createActivities({
    shards,
    stock,
    payments: new FakePaymentGateway(shards.cartsDb(0).collection(collections.carts.gateway), gatewayTimeoutMs),
    temporal: env.client,
    taskQueue,
    metrics: createMetrics(),
  });
  const worker = await Worker.create({
    connection: env.nativeConnection!,
    taskQueue,
    workflowBundle: await workflowBundle(),
    // Activities that wait on workflows this worker no longer runs must not hold up a test's teardown.
    shutdownGraceTime: '2 seconds',
    activities: { ...activities, ...override(activities) },
  });
  return { worker, taskQueue, stock, activities };
}

/** Adds a line to a cart the way the API does: update-with-start of the line's hold workflow. */
export async function addToCart(
  client: Client,
  taskQueue: string,
  input: Omit<HoldWorkflowInput, 'ttlSeconds' | 'maxHoldSeconds'> & Partial<HoldWorkflowInput>,
): Promise<AddToCartResult> {
  return client.workflow.executeUpdateWithStart(addToCartUpdate, {
    startWorkflowOperation: holdStartOperation(
      { ttlSeconds: 900, maxHoldSeconds: 3600, ...input },
      taskQueue,
      input.revision ?? holdRevision,
    ),
  });
}

/**
 * A strict product of `units` under a fresh SKU, and a cart with one line per quantity, each of which must be
 * held (TTL 10 minutes unless given).
 */
export async function cartWithHeldLines(
  client: Client,
  t: TestWorker,
  { units, quantities, priceCents, ttlSeconds = 600, revision }: CartOptions,
): Promise<{ sku: string; cartId: string; holdIds: string[] }> {
  const sku = uniqueId('sku');
  await t.stock.createProduct(productInput(sku, { priceCents }), units);
  const cartId = uniqueId('cart');
  const holdIds: string[] = [];
  for (const quantity of quantities) {
    const holdId = uniqueId('line');
    holdIds.push(holdId);
    const r = await addToCart(client, t.taskQueue, {
      holdId,
      cartId,
      sku,
      quantity,
      ttlSeconds,
      ...(revision !== undefined ? { revision } : {}),
    });
    expect(r.status).toBe('held');
  }
  return { sku, cartId, holdIds };
}

interface CartOptions {
  readonly units: number;
  readonly quantities: readonly number[];
  readonly priceCents: number;
  readonly ttlSeconds?: number;
  /** The hold workflow revision its lines run (default: the current one). */
  readonly revision?: HoldRevision;
}

export interface WorkerFixture {
  env: TestWorkflowEnvironment;
  shards: ShardSet;
  /** The worker started before the tests. */
  w: TestWorker;
  /** Starts one more worker (its own task queue), stopped after the tests like the first. */
  startWorker(override?: Parameters<typeof createTestWorker>[2], gatewayTimeoutMs?: number): Promise<TestWorker>;
}

/**
 * For a describe block: a Temporal environment, fresh databases and a running worker before its tests, all
 * stopped after them. Read the fields inside tests (they are set in beforeAll).
 */
function useWorkers(createEnv: () => Promise<TestWorkflowEnvironment>): WorkerFixture {
  const ctx = {} as WorkerFixture;
  const workers: { w: TestWorker; running: Promise<void> }[] = [];
  ctx.startWorker = async (override, gatewayTimeoutMs) => {
    const t = await createTestWorker(ctx.env, ctx.shards, override, gatewayTimeoutMs);
    workers.push({ w: t, running: t.worker.run() });
    return t;
  };
  beforeAll(async () => {
    ctx.env = await createEnv();
    ctx.shards = await connectTestShards();
    ctx.w = await ctx.startWorker();
  });
  afterAll(async () => {
    for (const { w, running } of workers) {
      w.worker.shutdown();
      await running;
    }
    await ctx.env?.teardown();
    await ctx.shards?.close();
  });
  return ctx;
}

/** Workers on the time-skipping server: timers (hold expiry) fire as soon as the run is idle. */
export const useTimeSkippingWorker = (): WorkerFixture => useWorkers(createTimeSkippingEnv);

/** Workers on the test run's dev server, in real time: for holds that must not lapse while a checkout runs. */
export const useDevServerWorkers = (): WorkerFixture =>
  useWorkers(() => TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') }));

/**
 * Starts a worker in its own OS process (test/fixtures/worker-process.ts) on `taskQueue`, over the test run's
 * Temporal and FerretDB and the databases of `shards`, for tests that SIGKILL it; resolves once it polls.
 */
export async function startWorkerProcess(shards: ShardSet, taskQueue: string): Promise<ChildProcess> {
  const args = JSON.stringify({
    temporalAddress: inject('temporalAddress'),
    taskQueue,
    uris: inject('mongoUris'),
    stockDb: shards.stockDb(0).databaseName,
    cartsDb: shards.cartsDb(0).databaseName,
  });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'worker-process.ts'), args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return child;
}
