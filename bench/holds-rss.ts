/**
 * `npm run bench -- --scenario holds-rss`: the resident memory of the worker (the all-in-one process that runs
 * the worker and the API) with `--holds` live holds, each a running hold workflow waiting out its timer. The
 * servers it started (Temporal, FerretDB) are reported apart. Writes bench/results/holds-rss.json.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Tally } from './harness/tally';
import { HttpClient } from './lib/http';
import { runLoad, summarize } from './harness/load';
import { descendants, processMemory, type ProcessMemory } from './lib/proc-memory';
import { Progress } from './lib/progress';
import { round } from './harness/percentiles';
import { writeJson } from './lib/results';
import { environment, errorList, phase, printErrors, reportFailures, type ScenarioContext } from './lib/scenario';
import { benchSku, Shop } from './lib/shop';

const resultsFile = path.join(import.meta.dirname, 'results', 'holds-rss.json');
export const targetRssMb = 1024;
/** RSS is sampled once a second for this long after the last hold, and the highest sample reported. */
const settleSeconds = 10;

export async function holdsRss({ args, stack, signal }: ScenarioContext): Promise<number> {
  const { holds, units, concurrency, ttlSeconds } = args;
  if (!stack.child) throw new Error('holds-rss reads the worker process from /proc: run it without --api');
  const pid = stack.child.pid;
  if (units < holds) throw new Error(`--units ${units} cannot back ${holds} holds`);
  const shop = new Shop(new HttpClient(stack.apiUrl, concurrency), stack.opsToken);
  const progress = new Progress(3, 'phases');
  try {
    const sku = benchSku('rss');
    await shop.createProduct(sku, units, 'strict');
    phase(progress, `${sku}: ${units} units; ${holds} holds at concurrency ${concurrency}; hold TTL ${ttlSeconds} s`);
    phase(progress, `creating ${holds} carts`);
    const carts = await shop.createCarts(holds, concurrency, progress, signal);
    const baseline = await processMemory(pid);

    phase(progress, `add-to-cart: ${holds} holds`);
    const run = await runLoad({
      total: holds,
      concurrency,
      send: (i) => shop.addToCart(carts[i]!, sku, `add-${i}`),
      signal,
      onProgress: progress.startCell(`holds (${holds})`, 'requests'),
    });
    progress.finishCell();
    signal.throwIfAborted();
    const errors = new Tally();
    errors.merge(run.errors);
    let held = 0;
    for (const t of run.results) {
      if (t.result.holdStatus === 'held') held++;
      else errors.add(t.result.error ?? `answered ${t.result.holdStatus} instead of held`);
    }

    phase(progress, `sampling the worker's RSS for ${settleSeconds} s`);
    const update = progress.startCell('RSS samples', 'samples');
    const samples: ProcessMemory[] = [];
    for (let i = 0; i < settleSeconds; i++) {
      await sleep(1000, undefined, { signal });
      const sample = await processMemory(pid);
      if (sample) samples.push(sample);
      update((i + 1) / settleSeconds, i + 1);
    }
    progress.finishCell();
    progress.stop();
    const last = samples.at(-1);
    if (!last) throw new Error(`could not read /proc/${pid}/status`);
    const workerRssMb = Math.max(...samples.map((s) => s.rssMb));
    const servers = (await Promise.all((await descendants(pid)).map(processMemory))).filter(
      (m): m is ProcessMemory => m !== undefined,
    );
    const view = await shop.product(sku);
    const invariants = await shop.invariants(sku);

    const addToCart = summarize(run, (r) => r.holdStatus !== undefined);
    const result = {
      scenario: 'holds-rss',
      holds,
      units,
      concurrency,
      ttlSeconds,
      workerRssMb,
      workerRssNowMb: last.rssMb,
      workerPeakRssMb: last.peakRssMb,
      baselineRssMb: baseline?.rssMb ?? null,
      perHoldKb: baseline ? round(((workerRssMb - baseline.rssMb) * 1024) / Math.max(1, held), 1) : null,
      target: { maxMb: targetRssMb, met: workerRssMb <= targetRssMb },
      held,
      reserved: view.reserved,
      worker: { pid, command: last.command },
      servers,
      temporalRssMb: sum(servers.filter((s) => s.command.startsWith('temporal'))),
      ferretDbRssMb: sum(servers.filter((s) => s.command.startsWith('holdfast-ferretdb'))),
      addToCart: {
        opsPerSec: addToCart.opsPerSec,
        p50Ms: addToCart.p50Ms,
        p95Ms: addToCart.p95Ms,
        p99Ms: addToCart.p99Ms,
        requests: addToCart.requests,
        elapsedMs: addToCart.elapsedMs,
      },
      invariants: { ok: invariants.ok, openHolds: invariants.openHolds, violations: invariants.violations },
      errors: errorList(errors),
      environment: environment(),
      finishedAt: new Date().toISOString(),
    };
    await writeJson(resultsFile, result);

    console.log('');
    console.table(
      Object.fromEntries([
        [
          `worker + API (pid ${pid})`,
          { 'RSS MB': workerRssMb, 'peak RSS MB': last.peakRssMb, 'before holds MB': baseline?.rssMb ?? '' },
        ],
        ...servers.map((s) => [`${s.command} (pid ${s.pid})`, { 'RSS MB': s.rssMb, 'peak RSS MB': s.peakRssMb }]),
      ]),
    );
    console.log(
      `${held} live holds: worker RSS ${workerRssMb} MB (target <= ${targetRssMb} MB: ${result.target.met ? 'met' : 'MISSED'})`,
    );
    printErrors('add-to-cart requests', errors);
    console.log(`wrote ${path.relative(process.cwd(), resultsFile)}`);

    const exitCode = reportFailures([
      held !== holds && `${held} of ${holds} holds were made`,
      view.reserved !== held && `reserved ${view.reserved} != ${held} holds`,
      !invariants.ok && `invariants: ${invariants.violations.join('; ')}`,
    ]);
    return exitCode;
  } finally {
    progress.stop();
    await shop.http.close();
  }
}

function sum(memories: readonly ProcessMemory[]): number {
  return round(
    memories.reduce((total, m) => total + m.rssMb, 0),
    1,
  );
}
