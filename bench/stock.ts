/**
 * `npm run bench:stock`: reservations per second, latency and overselling of holdfast's stock ledger (8 buckets,
 * 1 bucket) against the shop's current count-then-insert add-to-cart. See bench/lib/args.ts for the options.
 */
import path from 'node:path';
import { loadConfig } from '../src/config';
import { UsageError } from './harness/args';
import { parseBenchArgs, usage } from './lib/args';
import { measureOversell, measureThroughput, raceUnits } from './lib/cells';
import { openBenchDatabases, type BenchDatabases } from './lib/databases';
import { round } from './harness/percentiles';
import { Tally } from './harness/tally';
import { Progress } from './lib/progress';
import { ratioAt, writeResults, type ResultRow } from './lib/results';
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
  // Clients stop starting attempts; the run then stops its servers and exits non-zero.
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const servers = await startBenchServers(config);
  let dbs: BenchDatabases | undefined;
  let progress: Progress | undefined;
  try {
    dbs = await openBenchDatabases(servers.uris, Math.max(...args.concurrency));
    progress = new Progress(args.variants.length * args.concurrency.length * 2);
    const results: ResultRow[] = [];
    const table: Record<string, string | number>[] = [];
    const errors = new Tally();
    for (const name of args.variants) {
      const variant = variantFor(name, dbs);
      for (const concurrency of args.concurrency) {
        const tput = await measureThroughput(variant, concurrency, args.until, progress, abort.signal);
        const race = await measureOversell(variant, concurrency, progress, abort.signal);
        if (abort.signal.aborted) throw new Error('interrupted: no results written');
        const row: ResultRow = {
          variant: name,
          concurrency,
          opsPerSec: round(tput.opsPerSec, 1),
          p50Ms: round(tput.p50Ms, 2),
          p99Ms: round(tput.p99Ms, 2),
          oversold: race.oversold,
        };
        results.push(row);
        table.push({ ...row, granted: `${race.granted}/${raceUnits}`, errors: tput.errors.total + race.errors.total });
        errors.merge(tput.errors);
        errors.merge(race.errors);
      }
    }
    progress.stop();

    console.table(table);
    const top = Math.max(...args.concurrency);
    const ratio = ratioAt(results, 'buckets-8', 'bucket-1', top);
    if (ratio !== undefined) console.log(`buckets-8 / bucket-1 at concurrency ${top}: ${ratio.toFixed(2)}x ops/s`);
    await writeResults(resultsFile, results);
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
