import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, round, sortedAscending } from './percentiles';
import { Tally } from './tally';

/** One request's answer and when it was sent (in an open loop: meant to be) and answered, in ms since the run started. */
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
  const recording = new Recording<R>();
  let next = 0;
  const timeMs = options.seconds === undefined ? Infinity : options.seconds * 1000;
  const share = () => Math.min(1, Math.max(recording.done / total, recording.now() / timeMs));
  const loop = async () => {
    while (next < total && recording.now() < timeMs && !signal?.aborted) {
      const index = next++;
      await recording.attempt(index, recording.now(), send);
      onProgress?.(share(), recording.done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, total) }, loop));
  return recording.finish();
}

export interface OpenLoadOptions<R> {
  /** Requests to make, numbered 0..total-1 in the order they are sent. */
  readonly total: number;
  /** Arrivals per second: request i is intended at i / rate seconds after the start, however long earlier ones take. */
  readonly rate: number;
  /**
   * Requests in flight at most (the HTTP client's connections): one that is due while all are busy is sent when one
   * is answered, and its latency still counts from its intended time.
   */
  readonly maxInFlight: number;
  readonly send: (index: number) => Promise<R>;
  /** Stops sending (requests in flight finish). */
  readonly signal?: AbortSignal;
  /** After each request: the share of the requests answered (0..1) and how many. */
  readonly onProgress?: (share: number, done: number) => void;
}

/**
 * An open-loop load generator: requests arrive at a fixed rate, however slowly earlier ones are answered. Each one's
 * `startMs` is its intended send time, so a stall shows in the latency of every request it held up (no coordinated
 * omission, as a closed loop has: there a stalled loop sends nothing, and nothing records the wait).
 */
export async function runOpenLoad<R>(options: OpenLoadOptions<R>): Promise<LoadRun<R>> {
  const { total, rate, maxInFlight, send, signal, onProgress } = options;
  const recording = new Recording<R>();
  let inFlight = 0;
  let answered: (() => void) | undefined;
  const untilAnswered = () => new Promise<void>((resolve) => (answered = resolve));
  for (let index = 0; index < total && !signal?.aborted; index++) {
    const intendedMs = (index * 1000) / rate;
    // A timer may fire a little early: never send before the intended time. The sleep rejects only when aborted.
    while (recording.now() < intendedMs && !signal?.aborted) {
      await sleep(intendedMs - recording.now(), undefined, { signal }).catch(() => undefined);
    }
    if (signal?.aborted) break;
    while (inFlight >= maxInFlight) await untilAnswered();
    inFlight++;
    void recording.attempt(index, intendedMs, send).finally(() => {
      inFlight--;
      onProgress?.(recording.done / total, recording.done);
      answered?.();
    });
  }
  while (inFlight > 0) await untilAnswered();
  return recording.finish();
}

/** A run's answers and failures as they come, timed in ms since it started. */
class Recording<R> {
  readonly results: Timed<R>[] = [];
  readonly errors = new Tally();
  readonly startedAt = Date.now();
  private readonly start = performance.now();
  done = 0;

  now(): number {
    return performance.now() - this.start;
  }

  /** Sends request `index` and files its answer, timed from `startMs`, or its failure (not retried). */
  async attempt(index: number, startMs: number, send: (index: number) => Promise<R>): Promise<void> {
    try {
      const result = await send(index);
      this.results.push({ index, startMs, endMs: this.now(), result });
    } catch (err) {
      this.errors.addError(err);
    }
    this.done++;
  }

  finish(): LoadRun<R> {
    return { results: this.results, errors: this.errors, elapsedMs: this.now(), startedAt: this.startedAt };
  }
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

/** Throughput and latency of some of a run's answers (a path), over their own time span. */
export interface SpanSummary {
  readonly answers: number;
  /** Answers per second from the first of them sent to the last answered. */
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly p99OverP50: number;
  readonly spanMs: number;
}

/** The answers' own throughput and latency; null when there are none. */
export function summarizeSpan<R>(answers: readonly Timed<R>[]): SpanSummary | null {
  if (answers.length === 0) return null;
  let from = Infinity;
  let to = -Infinity;
  for (const t of answers) {
    from = Math.min(from, t.startMs);
    to = Math.max(to, t.endMs);
  }
  const sorted = sortedAscending(answers.map((t) => t.endMs - t.startMs));
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  return {
    answers: answers.length,
    opsPerSec: round(answers.length / ((to - from) / 1000), 1),
    p50Ms: round(p50, 2),
    p95Ms: round(percentile(sorted, 95), 2),
    p99Ms: round(p99, 2),
    p99OverP50: round(p99 / p50, 2),
    spanMs: Math.round(to - from),
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
