import { performance } from 'node:perf_hooks';
import { percentile, round, sortedAscending } from './percentiles';
import { Tally } from './tally';

/** One request's answer and when it was sent and answered, in ms since the run started. */
export interface Timed<R> {
  readonly index: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly result: R;
}

export interface LoadOptions<R> {
  /** Requests to make at most, numbered 0..total-1 (Infinity: until `seconds` are up). */
  readonly total: number;
  /** No request starts after this many seconds from the start (requests in flight finish). */
  readonly seconds?: number;
  /** Requests in flight at once (each loop sends its next request when the last one is answered). */
  readonly concurrency: number;
  readonly send: (index: number) => Promise<R>;
  /** Stops sending (requests in flight finish). */
  readonly signal?: AbortSignal;
  /** After each request: the share of the run done (0..1, of the requests or of the time) and the requests answered. */
  readonly onProgress?: (share: number, done: number) => void;
}

export interface LoadRun<R> {
  /** In the order they were answered. */
  readonly results: Timed<R>[];
  /** Requests that threw (no answer): not retried, not in `results`. */
  readonly errors: Tally;
  /** From the first request sent to the last one answered. */
  readonly elapsedMs: number;
  /** Wall-clock time (epoch ms) of the run's start, to place server timestamps on the run's time axis. */
  readonly startedAt: number;
}

/**
 * A closed-loop load generator: `concurrency` loops in this process, each sending one request after another,
 * until `total` were sent or the time is up.
 */
export async function runLoad<R>(options: LoadOptions<R>): Promise<LoadRun<R>> {
  const { total, send, signal, onProgress } = options;
  const results: Timed<R>[] = [];
  const errors = new Tally();
  let next = 0;
  let done = 0;
  const startedAt = Date.now();
  const start = performance.now();
  const timeMs = options.seconds === undefined ? Infinity : options.seconds * 1000;
  const share = () => Math.min(1, Math.max(done / total, (performance.now() - start) / timeMs));
  const loop = async () => {
    while (next < total && performance.now() - start < timeMs && !signal?.aborted) {
      const index = next++;
      const t0 = performance.now() - start;
      try {
        const result = await send(index);
        results.push({ index, startMs: t0, endMs: performance.now() - start, result });
      } catch (err) {
        errors.addError(err);
      }
      done++;
      onProgress?.(share(), done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, total) }, loop));
  return { results, errors, elapsedMs: performance.now() - start, startedAt };
}

export interface LatencySummary {
  readonly requests: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly elapsedMs: number;
}

/** Throughput and latency of the answered requests that count (`ok`), over the whole run's time. */
export function summarize<R>(run: LoadRun<R>, ok: (r: R) => boolean): LatencySummary {
  const counted = run.results.filter((t) => ok(t.result));
  const sorted = sortedAscending(counted.map((t) => t.endMs - t.startMs));
  return {
    requests: counted.length,
    opsPerSec: round(counted.length / (run.elapsedMs / 1000), 1),
    p50Ms: round(percentile(sorted, 50), 2),
    p95Ms: round(percentile(sorted, 95), 2),
    p99Ms: round(percentile(sorted, 99), 2),
    maxMs: round(sorted.at(-1) ?? NaN, 2),
    elapsedMs: Math.round(run.elapsedMs),
  };
}

/** One second of a run: requests answered in it and their latency. */
export interface SecondPoint {
  readonly second: number;
  readonly ops: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** Per-second throughput and latency, by the second each counted request was answered in (the last is partial). */
export function perSecond<R>(run: LoadRun<R>, ok: (r: R) => boolean): SecondPoint[] {
  const seconds = Math.max(1, Math.ceil(run.elapsedMs / 1000));
  const buckets: number[][] = Array.from({ length: seconds }, () => []);
  for (const t of run.results) {
    if (ok(t.result)) buckets[Math.min(seconds - 1, Math.floor(t.endMs / 1000))]!.push(t.endMs - t.startMs);
  }
  return buckets.map((latencies, second) => {
    const sorted = sortedAscending(latencies);
    return {
      second,
      ops: latencies.length,
      p50Ms: sorted.length ? round(percentile(sorted, 50), 2) : null,
      p99Ms: sorted.length ? round(percentile(sorted, 99), 2) : null,
    };
  });
}
