import { performance } from 'node:perf_hooks';
import { ErrorTally } from './errors';

/** How long a batch of clients keeps going: for a time, or until a number of attempts were started. */
export type Until = { readonly seconds: number } | { readonly ops: number };

/** One add-to-cart attempt; resolves true when a unit was granted. `key` is unique within the batch. */
export type Attempt = (key: string) => Promise<boolean>;

export interface ClientsOptions {
  readonly concurrency: number;
  readonly until: Until;
  readonly attempt: Attempt;
  /** Stops starting attempts (attempts in flight finish). */
  readonly signal?: AbortSignal;
  /** Called after each attempt with the share of the batch done (0..1) and the attempts started so far. */
  readonly onProgress?: (done: number, attempts: number) => void;
}

export interface ClientsResult {
  /** Latency in ms of each attempt that resolved, granted or refused. */
  readonly latenciesMs: number[];
  readonly granted: number;
  readonly refused: number;
  /** Attempts that threw: not retried, not in the latencies, reported by message. */
  readonly errors: ErrorTally;
  readonly elapsedMs: number;
}

/**
 * Runs `concurrency` async clients in this process, each making one attempt after another, until the time or
 * the attempt budget runs out.
 */
export async function runClients(options: ClientsOptions): Promise<ClientsResult> {
  const { until, attempt, signal, onProgress } = options;
  const latenciesMs: number[] = [];
  const errors = new ErrorTally();
  let started = 0;
  let granted = 0;
  let refused = 0;
  const start = performance.now();
  const deadline = 'seconds' in until ? start + until.seconds * 1000 : Infinity;
  const budget = 'ops' in until ? until.ops : Infinity;
  const share = () =>
    'seconds' in until ? Math.min(1, (performance.now() - start) / (until.seconds * 1000)) : started / budget;

  const client = async () => {
    while (started < budget && performance.now() < deadline && !signal?.aborted) {
      const key = String(started++);
      const t0 = performance.now();
      try {
        if (await attempt(key)) granted++;
        else refused++;
        latenciesMs.push(performance.now() - t0);
      } catch (err) {
        errors.add(err);
      }
      onProgress?.(share(), started);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return { latenciesMs, granted, refused, errors, elapsedMs: performance.now() - start };
}
