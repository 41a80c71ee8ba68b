import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, inject } from 'vitest';
import { searchAttributes } from '../src/infra/temporal';
import { createActivities, FakePaymentGateway, type Activities } from '../src/activities';
import { collections, type ShardSet } from '../src/db';
import { connectTestShards } from './helpers';
import { createMetrics } from '../src/metrics';
import { StockService } from '../src/stock';
import { addToCartUpdate } from '../src/contract/messages';
import type { AddToCartResult, HoldWorkflowInput } from '../src/contract/types';
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
): Promise<TestWorker> {
  const taskQueue = `test-${randomUUID()}`;
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
    startWorkflowOperation: holdStartOperation({ ttlSeconds: 900, maxHoldSeconds: 3600, ...input }, taskQueue),
  });
}

export interface TimeSkippingWorker {
  env: TestWorkflowEnvironment;
  shards: ShardSet;
  w: TestWorker;
}

/**
 * For a describe block: starts the time-skipping server, fresh databases and a running worker before its
 * tests, and stops them after. Read the fields inside tests (they are set in beforeAll).
 */
export function useTimeSkippingWorker(): TimeSkippingWorker {
  const ctx = {} as TimeSkippingWorker & { running: Promise<void> };
  beforeAll(async () => {
    ctx.env = await createTimeSkippingEnv();
    ctx.shards = await connectTestShards();
    ctx.w = await createTestWorker(ctx.env, ctx.shards);
    ctx.running = ctx.w.worker.run();
  });
  afterAll(async () => {
    ctx.w?.worker.shutdown();
    await ctx.running;
    await ctx.env?.teardown();
    await ctx.shards?.close();
  });
  return ctx;
}
