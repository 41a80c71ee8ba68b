import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config';
import { shardTimeouts, type ShardSet } from '../src/db';
import { ensureToxiproxyBinary, Toxiproxies } from '../src/infra';
import { connectTestShards, expectCleanLedger, productInput, uniqueId } from './helpers';
import { addToCart, createTestWorker, type TestWorker } from './workflow-helpers';

/** How long an add-to-cart may take while a shard is cut off, when its cart and stock sit on the other one. */
const heldWithinMs = 5_000;

/** An id with `prefix` whose hash places it on `shard`: carts, lines and SKUs are placed by hash. */
function idOn(shards: ShardSet, prefix: string, shard: number): string {
  for (;;) {
    const id = uniqueId(prefix);
    if (shards.shardFor(id) === shard) return id;
  }
}

describe('a shard cut off by the network (Toxiproxy between holdfast and each FerretDB shard)', () => {
  let toxiproxy: Toxiproxies;
  let env: TestWorkflowEnvironment;
  let shards: ShardSet;
  let w: TestWorker;
  let running: Promise<void>;

  beforeAll(async () => {
    const config = loadConfig();
    toxiproxy = await Toxiproxies.start({
      binary: await ensureToxiproxyBinary(config.home, config.PATH),
      logFile: path.join(config.home, 'logs', `toxiproxy-test-${process.pid}.log`),
    });
    const uris: string[] = [];
    for (const [shard, uri] of inject('mongoUris').entries()) {
      uris.push(`mongodb://${await toxiproxy.proxy(`shard-${shard}`, new URL(uri).host)}/`);
    }
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
    shards = await connectTestShards(uris);
    w = await createTestWorker(env, shards);
    running = w.worker.run();
  });

  afterAll(async () => {
    await toxiproxy?.heal('shard-0');
    await toxiproxy?.heal('shard-1');
    w?.worker.shutdown();
    await running;
    await env?.teardown();
    await shards?.close();
    await toxiproxy?.stop();
  });

  it('keeps selling from the buckets on the reachable shard, each answer within the bound, and refuses only when they are empty', async () => {
    const reachable = 0;
    const cutOff = 1;
    // The SKU's home (its product record), the cart and the lines on the reachable shard; with two buckets and
    // two shards, one bucket (4 units) lives on each.
    const sku = idOn(shards, 'sku', reachable);
    await w.stock.createProduct(productInput(sku, { buckets: 2 }), 8);
    const buckets = w.stock.bucketsOf(await w.stock.product(sku));
    expect(new Set(buckets.map((b) => b.shard))).toEqual(new Set([0, 1]));
    const cartId = idOn(shards, 'cart', reachable);
    const add = async () => {
      const started = Date.now();
      const r = await addToCart(env.client, w.taskQueue, {
        holdId: idOn(shards, 'line', reachable),
        cartId,
        sku,
        quantity: 1,
      });
      return { status: r.status, ms: Date.now() - started };
    };
    // One line before the cut: this process has looked at the SKU.
    expect((await add()).status).toBe('held');

    await toxiproxy.cutOff(`shard-${cutOff}`, 'blackhole');
    // The ShardSet learns it from its next ping's time-out.
    const cutAt = Date.now();
    while (shards.reachable(cutOff)) await sleep(50);
    const noticedMs = Date.now() - cutAt;
    expect(noticedMs).toBeLessThan(2 * (shardTimeouts.probeEveryMs + shardTimeouts.probeTimeoutMS));
    const during: { status: string; ms: number }[] = [];
    for (let r = await add(); ; r = await add()) {
      during.push(r);
      if (r.status !== 'held') break;
    }
    console.log(
      `shard ${cutOff} cut off, noticed in ${noticedMs} ms: ${during.map((r) => `${r.status} in ${r.ms} ms`).join(', ')}`,
    );
    // The reachable bucket's 3 or 4 units were sold, then the line was refused while the other bucket had 4.
    const held = during.filter((r) => r.status === 'held').length;
    expect(held).toBeGreaterThanOrEqual(3);
    expect(held).toBeLessThanOrEqual(4);
    expect(during.at(-1)!.status).toBe('out_of_stock');
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(heldWithinMs);

    await toxiproxy.heal(`shard-${cutOff}`);
    while (!shards.reachable(cutOff)) await sleep(50);
    // Healed: the other bucket's units sell again, every one of the 8 exactly once.
    let after = 0;
    for (let r = await add(); ; r = await add()) {
      // Printed as they come: a healing that stalls shows where.
      console.log(`healed: ${r.status} in ${r.ms} ms`);
      if (r.status !== 'held') break;
      after++;
    }
    expect(1 + held + after).toBe(8);
    await expectCleanLedger(w.stock, shards, sku);
  });
});
