import { performance } from 'node:perf_hooks';
import { runLoad, type LoadRun } from '../harness/load';
import { sortedAscending } from '../harness/percentiles';
import { Tally } from '../harness/tally';
import { evenSplit } from '../../src/stock';
import type { Attempt } from './variant';

/** How long a batch of clients keeps going: for a time, or until a number of attempts were started. */
export type Until = { readonly seconds: number } | { readonly ops: number };

/** One process's part of a cell: its clients and what they attempt. */
export interface Share {
  readonly clients: number;
  readonly until: Until;
  /** Starts every attempt key of this share: unique among the cell's shares. */
  readonly keyPrefix: string;
  /** First one unmeasured attempt per client, so that no measured attempt opens a connection. */
  readonly warm: boolean;
}

/** What one process measured of its share, as plain data (it crosses the IPC channel of a client process). */
export interface ShareResult {
  readonly warmAttempts: number;
  readonly warmGranted: number;
  /** Measured attempts that were answered, and how many of them were granted. */
  readonly attempts: number;
  readonly granted: number;
  /** Of every answered measured attempt. */
  readonly latenciesMs: number[];
  /** Attempts that threw, warm-up included: message, count. */
  readonly errors: [string, number][];
  /** Epoch ms with sub-ms precision (comparable across processes): the measured attempts' first start, last end. */
  readonly startMs: number;
  readonly endMs: number;
}

/** A cell's shares: `concurrency` clients and the attempt budget spread as evenly as possible over `processes`. */
export function splitShares(concurrency: number, processes: number, until: Until, warm: boolean): Share[] {
  const clients = evenSplit(concurrency, processes);
  const ops = 'ops' in until ? evenSplit(until.ops, processes) : undefined;
  return clients.map((n, p) => ({
    clients: n,
    until: ops ? { ops: ops[p]! } : until,
    keyPrefix: `p${p}.`,
    warm,
  }));
}

/**
 * Runs one share with `attempt`: the warm-up if any, then `beforeMeasure` (a client process waits there for
 * the others), then the measured clients, each making one attempt after another.
 */
export async function runShare(
  attempt: Attempt,
  share: Share,
  signal: AbortSignal,
  onProgress?: (share: number, done: number) => void,
  beforeMeasure?: () => Promise<void>,
): Promise<ShareResult> {
  const { clients, keyPrefix } = share;
  const warm = share.warm
    ? await load(clients, { ops: clients }, (i) => attempt(`${keyPrefix}w${i}`), signal)
    : undefined;
  await beforeMeasure?.();
  const startMs = performance.timeOrigin + performance.now();
  const run = await load(clients, share.until, (i) => attempt(`${keyPrefix}m${i}`), signal, onProgress);
  const errors = new Tally();
  if (warm) errors.merge(warm.errors);
  errors.merge(run.errors);
  return {
    warmAttempts: warm?.results.length ?? 0,
    warmGranted: warm ? granted(warm) : 0,
    attempts: run.results.length,
    granted: granted(run),
    latenciesMs: run.results.map((t) => t.endMs - t.startMs),
    errors: errors.entries(),
    startMs,
    endMs: startMs + run.elapsedMs,
  };
}

/** A cell's shares taken together: ops/s over the window from the first start to the last end, in any process. */
export interface Merged {
  readonly warmAttempts: number;
  readonly warmGranted: number;
  readonly attempts: number;
  readonly granted: number;
  readonly opsPerSec: number;
  readonly sortedLatenciesMs: number[];
  readonly errors: Tally;
}

export function mergeShares(results: readonly ShareResult[]): Merged {
  const sum = (f: (r: ShareResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const errors = new Tally();
  for (const r of results) for (const [message, n] of r.errors) errors.add(message, n);
  const windowMs = Math.max(...results.map((r) => r.endMs)) - Math.min(...results.map((r) => r.startMs));
  const grantedAll = sum((r) => r.granted);
  return {
    warmAttempts: sum((r) => r.warmAttempts),
    warmGranted: sum((r) => r.warmGranted),
    attempts: sum((r) => r.attempts),
    granted: grantedAll,
    opsPerSec: grantedAll / (windowMs / 1000),
    sortedLatenciesMs: sortedAscending(results.flatMap((r) => r.latenciesMs)),
    errors,
  };
}

/** `clients` loops, each making one attempt after another (numbered across them) until the time or budget runs out. */
function load(
  clients: number,
  until: Until,
  send: (i: number) => Promise<boolean>,
  signal: AbortSignal,
  onProgress?: (share: number, done: number) => void,
): Promise<LoadRun<boolean>> {
  const limit = 'ops' in until ? { total: until.ops } : { total: Infinity, seconds: until.seconds };
  return runLoad({ ...limit, concurrency: clients, send, signal, onProgress });
}

function granted(run: LoadRun<boolean>): number {
  return run.results.filter((t) => t.result).length;
}
