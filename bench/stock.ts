/**
 * `npm run bench:stock`: reservations per second, latency and overselling of holdfast's stock ledger (8 buckets,
 * 1 bucket) against the shop's current count-then-insert add-to-cart, each as a ratio to the store's write limit
 * (raw-insert). See bench/lib/args.ts for the options.
 */
import path from 'node:path';
import { loadConfig } from '../src/config';
import { UsageError } from './harness/args';
import { round } from './harness/percentiles';
import { Tally } from './harness/tally';
import { parseBenchArgs, processesFor, processRule, usage } from './lib/args';
import { measureOversell, measureThroughput, raceUnits, type Cell } from './lib/cells';
import { ClientProcesses } from './lib/client-processes';
import { openBenchDatabases, type BenchDatabases } from './lib/databases';
import { Progress } from './lib/progress';
import { ratioAt, withRawInsertRatios, writeResults, type ResultRow } from './lib/results';
import { startBenchServers } from './lib/servers';
import { variantFor } from './lib/variants';

const resultsFile = path.join(import.meta.dirname, 'results', 'stock.json');

async function run() {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) {
    console.log(usage);
    return;
  }
  const config = loadConfig();
  const abort = new AbortController();
  // Clients stop starting attempts; the run then stops its client processes and servers and exits non-zero.
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const servers = await startBenchServers(config);
  const maxPoolSize = Math.max(...args.concurrency);
  // Started once for the run, as many as the widest cell wants; each cell uses the first of them it needs.
  const poolSize = Math.max(...args.concurrency.map((c) => processesFor(c, args)));
  let dbs: BenchDatabases | undefined;
  let pool: ClientProcesses | undefined;
  let progress: Progress | undefined;
  try {
    const opened = await openBenchDatabases(servers.uris, maxPoolSize);
    dbs = opened;
    if (poolSize > 1) {
      const connect = { type: 'connect', uris: servers.uris, names: opened.names, maxPoolSize } as const;
      pool = await ClientProcesses.start(poolSize, connect);
    }
    const variants = args.variants.map((name) => variantFor(name, opened));
    const races = variants.filter((v) => v.sellsStock).length;
    progress = new Progress((args.variants.length + races) * args.concurrency.length);
    const cells: { row: ResultRow; granted: string; errors: number }[] = [];
    const errors = new Tally();
    for (const variant of variants) {
      for (const concurrency of args.concurrency) {
        const cell: Cell = { variant, concurrency, processes: processesFor(concurrency, args), pool };
        const tput = await measureThroughput(cell, args.until, progress, abort.signal);
        const race = variant.sellsStock ? await measureOversell(cell, progress, abort.signal) : undefined;
        if (abort.signal.aborted) throw new Error('interrupted: no results written');
        const row: ResultRow = {
          variant: variant.name,
          concurrency,
          processes: cell.processes,
          opsPerSec: round(tput.opsPerSec, 1),
          p50Ms: round(tput.p50Ms, 2),
          p99Ms: round(tput.p99Ms, 2),
          ...(race ? { oversold: race.oversold } : {}),
        };
        const granted = race ? `${race.granted}/${raceUnits}` : '–';
        cells.push({ row, granted, errors: tput.errors.total + (race?.errors.total ?? 0) });
        errors.merge(tput.errors);
        if (race) errors.merge(race.errors);
      }
    }
    progress.stop();

    const results = withRawInsertRatios(cells.map((c) => c.row));
    console.table(
      results.map((r, i) => ({
        variant: r.variant,
        clients: r.concurrency,
        processes: r.processes,
        'ops/s': r.opsPerSec,
        '× raw-insert': r.ratioToRawInsert?.toFixed(2) ?? '–',
        'p50 ms': r.p50Ms,
        'p99 ms': r.p99Ms,
        oversold: r.oversold ?? '–',
        granted: cells[i]!.granted,
        errors: cells[i]!.errors,
      })),
    );
    console.log(`processes: ${processRule(args)}`);
    const top = Math.max(...args.concurrency);
    const ratio = ratioAt(results, 'buckets-8', 'bucket-1', top);
    if (ratio !== undefined) console.log(`buckets-8 / bucket-1 at concurrency ${top}: ${ratio.toFixed(2)}x ops/s`);
    await writeResults(resultsFile, processRule(args), results);
    console.log(`wrote ${path.relative(process.cwd(), resultsFile)}`);
    if (errors.total > 0) {
      // Failed attempts are neither retried nor counted as ops: the numbers above are only what succeeded.
      console.error(`\n${errors.total} attempts failed:`);
      for (const [message, count] of errors.entries()) console.error(`  ${count} x ${message}`);
      process.exitCode = 1;
    }
  } finally {
    progress?.stop();
    try {
      await pool?.stop();
      if (servers.external) await dbs?.drop();
    } finally {
      await dbs?.close();
      await servers.stop();
    }
  }
}

run().catch((err: unknown) => {
  console.error(err instanceof UsageError ? err.message : err);
  process.exit(1);
});
