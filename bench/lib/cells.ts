import { randomBytes } from 'node:crypto';
import { percentile } from '../harness/percentiles';
import type { Tally } from '../harness/tally';
import type { ClientProcesses } from './client-processes';
import type { Progress } from './progress';
import { mergeShares, runShare, splitShares, type Merged, type Share, type Until } from './share';
import type { SkuUnderTest, Variant } from './variant';

/** Units for a throughput cell: enough that it never sells out, so every attempt is a real reservation. */
export const throughputUnits = 1_000_000;
/** Units for a sell-out race; the race makes twice as many attempts. */
export const raceUnits = 100;

/** One variant at one client count, and where its clients run. */
export interface Cell {
  readonly variant: Variant;
  readonly concurrency: number;
  /** 1: in the bench's own process; more: spread over that many of `pool`'s client processes. */
  readonly processes: number;
  readonly pool: ClientProcesses | undefined;
}

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

function freshSku(cell: Cell, kind: 'tput' | 'race'): string {
  return `bench-${cell.variant.name}-c${cell.concurrency}-${kind}-${randomBytes(3).toString('hex')}`;
}

function label(cell: Cell, kind: string): string {
  const where = cell.processes > 1 ? ` in ${cell.processes} processes` : '';
  return `${cell.variant.name} c=${cell.concurrency}${where} ${kind}`;
}

/**
 * Reservations per second and their latency, with the cell's clients adding one unit each, again and again:
 * over every process, the attempts granted in the window from the first start to the last end.
 */
export async function measureThroughput(
  cell: Cell,
  until: Until,
  progress: Progress,
  signal: AbortSignal,
): Promise<Throughput> {
  const sku = await cell.variant.open(freshSku(cell, 'tput'), throughputUnits);
  try {
    const update = progress.startCell(label(cell, 'throughput'));
    // The warm-up fills the connection pools, so no measured latency includes opening a connection.
    const shares = splitShares(cell.concurrency, cell.processes, until, true);
    const run = await runClients(cell, sku, throughputUnits, shares, signal, update);
    progress.finishCell();
    if (run.warmGranted + run.granted < run.warmAttempts + run.attempts) {
      throw new Error(`${cell.variant.name}: ${sku.sku} sold out while measuring`);
    }
    return {
      opsPerSec: run.opsPerSec,
      p50Ms: percentile(run.sortedLatenciesMs, 50),
      p99Ms: percentile(run.sortedLatenciesMs, 99),
      errors: run.errors,
    };
  } finally {
    await sku.dispose();
  }
}

/**
 * Races the cell's clients for raceUnits units until twice as many attempts were made, then counts from the
 * database how many units were granted: anything above raceUnits was oversold.
 */
export async function measureOversell(cell: Cell, progress: Progress, signal: AbortSignal): Promise<Oversell> {
  const sku = await cell.variant.open(freshSku(cell, 'race'), raceUnits);
  try {
    const update = progress.startCell(label(cell, 'sell-out race'));
    const shares = splitShares(cell.concurrency, cell.processes, { ops: 2 * raceUnits }, false);
    const race = await runClients(cell, sku, raceUnits, shares, signal, update);
    progress.finishCell();
    const counted = await sku.granted(race.granted, race.errors.total === 0);
    return { granted: counted, oversold: Math.max(0, counted - raceUnits), errors: race.errors };
  } finally {
    await sku.dispose();
  }
}

/** One share in this process, with the SKU's own attempts, or one share per client process, attached to it. */
async function runClients(
  cell: Cell,
  sku: SkuUnderTest,
  units: number,
  shares: readonly Share[],
  signal: AbortSignal,
  onProgress: (share: number, done: number) => void,
): Promise<Merged> {
  if (shares.length === 1) return mergeShares([await runShare(sku.attempt, shares[0]!, signal, onProgress)]);
  if (!cell.pool) throw new Error(`${label(cell, '')}: no client processes were started`);
  const onSale = { variant: cell.variant.name, sku: sku.sku, units };
  return mergeShares(await cell.pool.run(onSale, shares, signal, onProgress));
}
