import { randomBytes } from 'node:crypto';
import { runClients, type Until } from './clients';
import type { ErrorTally } from './errors';
import { percentile, sortedAscending } from './percentiles';
import type { Progress } from './progress';
import type { Variant } from './variant';

/** Units for a throughput cell: enough that it never sells out, so every attempt is a real reservation. */
export const throughputUnits = 1_000_000;
/** Units for a sell-out race; the race makes twice as many attempts. */
export const raceUnits = 100;

export interface Throughput {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: ErrorTally;
}

export interface Oversell {
  readonly granted: number;
  readonly oversold: number;
  readonly errors: ErrorTally;
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
    const warm = await runClients({
      concurrency,
      until: { ops: concurrency },
      attempt: (k) => sku.attempt(`w${k}`),
      signal,
    });
    const update = progress.startCell(`${variant.name} c=${concurrency} throughput`);
    const run = await runClients({
      concurrency,
      until,
      attempt: (k) => sku.attempt(`m${k}`),
      signal,
      onProgress: update,
    });
    progress.finishCell();
    if (warm.refused + run.refused > 0) throw new Error(`${variant.name}: ${sku.sku} sold out while measuring`);
    run.errors.merge(warm.errors);
    const sorted = sortedAscending(run.latenciesMs);
    return {
      opsPerSec: run.granted / (run.elapsedMs / 1000),
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
    const race = await runClients({
      concurrency,
      until: { ops: 2 * raceUnits },
      attempt: (k) => sku.attempt(k),
      signal,
      onProgress: update,
    });
    progress.finishCell();
    const granted = await sku.granted(race.granted, race.errors.total === 0);
    return { granted, oversold: Math.max(0, granted - raceUnits), errors: race.errors };
  } finally {
    await sku.dispose();
  }
}
