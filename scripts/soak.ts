/**
 * `npm run soak`: steady shopping for a long time against the split stack (API, worker and servers in their own
 * processes), looking for what only time shows: memory that grows, handles that leak, latency that creeps.
 *
 * Every second `--rate` shoppers arrive; each makes a cart and adds one unit of one of five products. Half of
 * them check out (and are charged), the rest walk away and their holds expire after `--ttl` seconds. Products
 * are restocked by ops when they run low. Every minute it samples each process's resident memory and open file
 * descriptors, and the minute's add-to-cart and checkout latency. At the end the system check must be clean, no
 * request may have failed with a 5xx or a network error, and no process may have grown (RSS or descriptors)
 * from its sample after the warm-up to the end, or over the run's second half, by more than the allowance
 * (bench/harness/growth.ts). Writes bench/results/soak.json.
 *
 *   npm run soak                        # 30 minutes, 2 shoppers/s (what passes on a 2-core machine)
 *   npm run soak -- --minutes 5 --rate 4 --ttl 15
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFlags, positiveOr, UsageError } from '../bench/harness/args';
import { growthProblems } from '../bench/harness/growth';
import { percentile, round, sortedAscending } from '../bench/harness/percentiles';
import { descendants, processMemory } from '../bench/lib/proc-memory';
import { repoRoot, RunStack } from '../src/infra';

const usage = 'usage: npm run soak -- [--minutes 30] [--rate 2] [--ttl 20] [--warmup-minutes 3]';

interface Minute {
  readonly minute: number;
  readonly shoppers: number;
  readonly addToCart: {
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly held: number;
    readonly refused: number;
  };
  readonly checkout: { readonly p50Ms: number; readonly p99Ms: number; readonly count: number };
  readonly failures: number;
  readonly processes: readonly {
    readonly command: string;
    readonly role: string;
    readonly rssMb: number;
    readonly fds: number;
  }[];
}

/** A short name for a process of the run. */
function roleOf(command: string): string {
  if (command.includes('src/api/server.ts')) return 'api';
  if (command.includes('src/worker.ts')) return 'worker';
  if (command.startsWith('holdfast-ferretdb')) return `ferretdb :${/:(\d+)/.exec(command)?.[1] ?? '?'}`;
  const service = /--service (\w+)/.exec(command);
  if (service) return `temporal ${service[1]}`;
  return command.split(' ')[0]!;
}

async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => [])).length;
}

/** The run's processes (this one's descendants: API, worker, servers), named by their command. */
async function sampleProcesses() {
  const pids = await descendants(process.pid);
  const samples = await Promise.all(
    pids.map(async (pid) => {
      const memory = await processMemory(pid);
      // setpriv and shells in between, and tsx's esbuild helpers, are not ours to watch.
      if (!memory || memory.rssMb < 5 || memory.command.startsWith('esbuild')) return undefined;
      return { command: memory.command, role: roleOf(memory.command), rssMb: memory.rssMb, fds: await openFds(pid) };
    }),
  );
  return samples
    .filter((s): s is NonNullable<typeof s> => s !== undefined)
    .sort((a, b) => a.command.localeCompare(b.command));
}

function quantiles(values: number[]) {
  const sorted = sortedAscending(values);
  return { p50Ms: round(percentile(sorted, 50), 0), p99Ms: round(percentile(sorted, 99), 0) };
}

async function run(): Promise<number> {
  const flags = parseFlags(
    process.argv.slice(2),
    {
      minutes: { type: 'string' },
      rate: { type: 'string' },
      ttl: { type: 'string' },
      'warmup-minutes': { type: 'string' },
    },
    usage,
  );
  const minutes = positiveOr('--minutes', flags.minutes, 30);
  const rate = positiveOr('--rate', flags.rate, 2);
  const ttlSeconds = positiveOr('--ttl', flags.ttl, 20);
  const warmupMinutes = Math.min(positiveOr('--warmup-minutes', flags['warmup-minutes'], 3), minutes - 1);
  if (minutes < 2) throw new UsageError(`--minutes must be at least 2\n${usage}`);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'holdfast-soak-'));
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const stack = await RunStack.start({ layout: 'split', dir, ttlSeconds, shards: 2 });
  let passed = false;
  try {
    const base = stack.apiUrl;
    const ops = { authorization: `Bearer ${stack.opsToken}` };
    let failures = 0;
    const failed: Record<string, number> = {};
    const send = async (method: string, url: string, headers: Record<string, string>, body?: unknown) => {
      try {
        const res = await fetch(`${base}${url}`, {
          method,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
        if (res.status >= 500) {
          failures++;
          failed[`${method} ${url.replace(/[0-9a-f-]{16,}/g, ':id')} ${res.status}`] =
            (failed[`${method} ${url.replace(/[0-9a-f-]{16,}/g, ':id')} ${res.status}`] ?? 0) + 1;
        }
        return { status: res.status, json };
      } catch (err) {
        failures++;
        const what = `${method} ${url.replace(/[0-9a-f-]{16,}/g, ':id')} ${err instanceof Error ? err.name : 'error'}`;
        failed[what] = (failed[what] ?? 0) + 1;
        return { status: 0, json: {} };
      }
    };

    const tag = Date.now().toString(36);
    const skus = Array.from({ length: 5 }, (_, i) => `soak-${tag}-${i}`);
    for (const sku of skus) {
      const created = await send('POST', '/v1/products', ops, {
        sku,
        name: sku,
        priceCents: 500,
        quantity: 400,
        policy: 'strict',
        buckets: 4,
      });
      if (created.status !== 201) throw new Error(`could not create ${sku}: ${created.status}`);
    }

    const log: Minute[] = [];
    let current = { shoppers: 0, add: [] as number[], held: 0, refused: 0, checkout: [] as number[] };
    const inFlight = new Set<Promise<void>>();
    let shopper = 0;
    const shop = async (n: number) => {
      current.shoppers++;
      const cart = await send('POST', '/v1/carts', {});
      if (cart.status !== 201) return;
      const { cartId, token } = cart.json as { cartId: string; token: string };
      const auth = { authorization: `Bearer ${token}` };
      const sku = skus[n % skus.length]!;
      const t0 = performance.now();
      const added = await send(
        'POST',
        `/v1/carts/${cartId}/items`,
        { ...auth, 'idempotency-key': `a-${n}` },
        { sku, quantity: 1 },
      );
      current.add.push(performance.now() - t0);
      if (added.status === 201) current.held++;
      else if (added.status === 409) current.refused++;
      if (added.status !== 201 || n % 2 === 1) return; // walks away: the hold expires
      const t1 = performance.now();
      const checkout = await send(
        'POST',
        `/v1/carts/${cartId}/checkout`,
        { ...auth, 'idempotency-key': `c-${n}` },
        { paymentToken: 'tok_visa' },
      );
      if (checkout.status !== 202) return;
      const { orderId } = checkout.json as { orderId: string };
      // As the storefront does: ask again a second after each answer, for up to a minute. (Every 250 ms, as
      // this loop first did, the questions about pending orders grew with the checkouts' latency and became most
      // of Temporal's load: a feedback loop no shopper's browser makes.)
      for (let i = 0; i < 60; i++) {
        const order = await send('GET', `/v1/orders/${orderId}`, auth);
        if (order.json.status === 'completed' || order.json.status === 'failed') break;
        await sleep(1000);
      }
      current.checkout.push(performance.now() - t1);
    };

    const started = Date.now();
    const restocks = async () => {
      for (const sku of skus) {
        const p = await send('GET', `/v1/products/${sku}`, {});
        if (typeof p.json.available === 'number' && p.json.available < 100) {
          await send(
            'POST',
            `/v1/products/${sku}/restock`,
            { ...ops, 'idempotency-key': `r-${sku}-${Date.now()}` },
            { quantity: 300 },
          );
        }
      }
    };
    for (let minute = 1; minute <= minutes && !controller.signal.aborted; minute++) {
      const end = started + minute * 60_000;
      while (Date.now() < end && !controller.signal.aborted) {
        const tick = Date.now();
        for (let i = 0; i < rate; i++) {
          const p = shop(shopper++).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        if (shopper % (rate * 10) < rate) await restocks();
        await sleep(Math.max(0, 1000 - (Date.now() - tick)));
      }
      const add = quantiles(current.add);
      const sample: Minute = {
        minute,
        shoppers: current.shoppers,
        addToCart: { ...add, held: current.held, refused: current.refused },
        checkout: { ...quantiles(current.checkout), count: current.checkout.length },
        failures,
        processes: await sampleProcesses(),
      };
      log.push(sample);
      current = { shoppers: 0, add: [], held: 0, refused: 0, checkout: [] };
      const rss = sample.processes.map((p) => `${p.role} ${p.rssMb}`).join(', ');
      console.log(
        `min ${String(minute).padStart(2)}  shoppers ${sample.shoppers}  add p50/p99 ${add.p50Ms}/${add.p99Ms} ms  ` +
          `checkout p50 ${sample.checkout.p50Ms} ms  failures ${failures}  RSS MB: ${rss}`,
      );
    }
    await Promise.all(inFlight);
    // Holds expire after the TTL: then every unit is sold or back on the shelf, and the check can run at rest.
    await sleep((ttlSeconds + 10) * 1000);
    const check = await send('GET', '/v1/ops/check', ops);
    const violations = (check.json.violations as string[] | undefined) ?? ['the system check did not answer'];

    const growth = growthProblems(log, warmupMinutes);
    const problems = [
      ...violations.map((v) => `system check: ${v}`),
      ...Object.entries(failed).map(([what, n]) => `${n} × ${what}`),
      ...growth.map((g) => `grew: ${g}`),
      ...stack.unexpectedExits.map((e) => `exited: ${e}`),
    ];
    const result = {
      startedAt: new Date(started).toISOString(),
      settings: { minutes, rate, ttlSeconds, warmupMinutes },
      minutes: log,
      problems,
      passed: problems.length === 0,
    };
    await writeFile(path.join(repoRoot, 'bench', 'results', 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(problems.length === 0 ? 'result PASS' : `result FAIL\n  ${problems.join('\n  ')}`);
    passed = problems.length === 0;
    return passed ? 0 : 1;
  } finally {
    await stack.stop();
    // A failed run keeps its servers' logs and data to look into (they are what explains a failure).
    if (passed) await rm(dir, { recursive: true, force: true });
    else console.log(`logs and data kept in ${dir}`);
  }
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof UsageError ? err.message : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
