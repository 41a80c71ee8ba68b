import { randomBytes } from 'node:crypto';
import { runLoad, type LoadRun } from '../harness/load';
import { percentile, sortedAscending } from '../harness/percentiles';
import type { Tally } from '../harness/tally';
import type { Progress } from './progress';
import type { Attempt, Variant } from './variant';

/** How long a batch of clients keeps going: for a time, or until a number of attempts were started. */
export type Until = { readonly seconds: number } | { readonly ops: number };

/** Units for a throughput cell: enough that it never sells out, so every attempt is a real reservation. */
export const throughputUnits = 1_000_000;
/** Units for a sell-out race; the race makes twice as many attempts. */
export const raceUnits = 100;

export interface Throughput {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: Tally;
}

export interface Oversell {
  readonly granted: number;
  readonly oversold: number;
  readonly errors: Tally;
}

function freshSku(variant: Variant, concurrency: number, kind: 'tput' | 'race'): string {
  return `bench-${variant.name}-c${concurrency}-${kind}-${randomBytes(3).toString('hex')}`;
}

/** Reservations per second and their latency, with `concurrency` clients adding one unit each, again and again. */
export async function measureThroughput(
  variant: Variant,
  concurrency: number,
  until: Until,
  progress: Progress,
  signal: AbortSignal,
): Promise<Throughput> {
  const sku = await variant.open(freshSku(variant, concurrency, 'tput'), throughputUnits);
  try {
    // Unmeasured: fills the connection pools, so no measured latency includes opening a connection.
    const warm = await clients(concurrency, { ops: concurrency }, (k) => sku.attempt(`w${k}`), signal);
    const update = progress.startCell(`${variant.name} c=${concurrency} throughput`);
    const run = await clients(concurrency, until, (k) => sku.attempt(`m${k}`), signal, update);
    progress.finishCell();
    if (granted(warm) + granted(run) < warm.results.length + run.results.length) {
      throw new Error(`${variant.name}: ${sku.sku} sold out while measuring`);
    }
    run.errors.merge(warm.errors);
    const sorted = sortedAscending(run.results.map((t) => t.endMs - t.startMs));
    return {
      opsPerSec: granted(run) / (run.elapsedMs / 1000),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      errors: run.errors,
    };
  } finally {
    await sku.dispose();
  }
}

/**
 * Races `concurrency` clients for raceUnits units until twice as many attempts were made, then counts from the
 * database how many units were granted: anything above raceUnits was oversold.
 */
export async function measureOversell(
  variant: Variant,
  concurrency: number,
  progress: Progress,
  signal: AbortSignal,
): Promise<Oversell> {
  const sku = await variant.open(freshSku(variant, concurrency, 'race'), raceUnits);
  try {
    const update = progress.startCell(`${variant.name} c=${concurrency} sell-out race`);
    const race = await clients(concurrency, { ops: 2 * raceUnits }, (k) => sku.attempt(k), signal, update);
    progress.finishCell();
    const counted = await sku.granted(granted(race), race.errors.total === 0);
    return { granted: counted, oversold: Math.max(0, counted - raceUnits), errors: race.errors };
  } finally {
    await sku.dispose();
  }
}

/** `concurrency` clients, each making one attempt after another (keyed by its number) until the time or budget runs out. */
function clients(
  concurrency: number,
  until: Until,
  attempt: Attempt,
  signal: AbortSignal,
  onProgress?: (share: number, done: number) => void,
): Promise<LoadRun<boolean>> {
  const limit = 'ops' in until ? { total: until.ops } : { total: Infinity, seconds: until.seconds };
  return runLoad({ ...limit, concurrency, send: (i) => attempt(String(i)), signal, onProgress });
}

function granted(run: LoadRun<boolean>): number {
  return run.results.filter((t) => t.result).length;
}
