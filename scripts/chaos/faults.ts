import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStack } from '../../src/infra';
import { elapsed, log } from './log';

export interface FaultRecord {
  readonly fault: string;
  /** Seconds since the run started. */
  readonly at: number;
  readonly detail: string;
  /** Whether the load was still running when the fault was injected. */
  readonly duringLoad: boolean;
  /** Seconds from the fault until a canary add-to-cart went through API, Temporal, worker and shards again. */
  readonly recoveredAfterSeconds: number | null;
  readonly error?: string;
}

export interface FaultOptions {
  readonly stack: RunStack;
  /** Every `intervalMs` from the start of the load, or as `started()` (the share of shoppers started) passes 1/4, 2/4, 3/4. */
  readonly schedule: { readonly intervalMs: number } | { readonly started: () => number };
  /** Resolves when the load has finished: faults still due are injected at once, one after another. */
  readonly loadDone: Promise<unknown>;
  /** Sends one add-to-cart end to end, retrying until it is answered; fails when it never is. */
  readonly probe: () => Promise<void>;
  readonly signal: AbortSignal;
}

// Long enough for clients to notice (failed calls, closed connections), short enough to stay within the run.
const downtimeMs = 2000;

/** Injects the three faults spread over the load, each followed by a recovery probe. */
export async function runFaults(options: FaultOptions): Promise<FaultRecord[]> {
  const { stack, signal } = options;
  const faults: { fault: string; inject: () => Promise<string> }[] = [
    { fault: 'SIGKILL the worker, start another', inject: () => killWorker(stack) },
    { fault: 'restart the Temporal dev server', inject: () => restart(stack, 'temporal') },
    { fault: 'restart FerretDB shard 1', inject: () => restart(stack, 'ferretdb shard 1') },
  ];
  let loadRunning = true;
  void options.loadDone.finally(() => (loadRunning = false));
  const start = Date.now();
  const records: FaultRecord[] = [];
  for (const [k, { fault, inject }] of faults.entries()) {
    await Promise.race([options.loadDone, due(options.schedule, start, k + 1, faults.length + 1, signal)]);
    signal.throwIfAborted();
    const at = Date.now();
    const duringLoad = loadRunning;
    log(
      `fault ${k + 1}/${faults.length}: ${fault}${duringLoad ? '' : ' (the load has finished; orders are settling)'}`,
    );
    let detail = '';
    try {
      detail = await inject();
      log(`fault ${k + 1}: ${detail}`);
      await options.probe();
      const recoveredAfterSeconds = Math.round((Date.now() - at) / 100) / 10;
      log(`fault ${k + 1}: recovered: a canary add-to-cart was held ${recoveredAfterSeconds} s after the fault`);
      records.push({ fault, at: elapsed(at), detail, duringLoad, recoveredAfterSeconds });
    } catch (err) {
      signal.throwIfAborted();
      const error = err instanceof Error ? err.message : String(err);
      log(`!! fault ${k + 1}: ${error}`);
      records.push({ fault, at: elapsed(at), detail, duringLoad, recoveredAfterSeconds: null, error });
    }
  }
  return records;
}

/** SIGKILL the worker mid-work (no graceful shutdown), then start a new one. */
async function killWorker(stack: RunStack): Promise<string> {
  const old = stack.worker!;
  await stack.kill(old, 'SIGKILL');
  const next = stack.startWorker();
  return `worker pid ${old.pid} SIGKILLed; worker pid ${next.pid} started`;
}

/** Stop a server (SIGTERM), wait, start it again on the same port and data. */
async function restart(stack: RunStack, server: string): Promise<string> {
  const { stopped, serving } = await stack.restartServer(server, downtimeMs);
  return `${server} pid ${stopped.pid} stopped; ${downtimeMs / 1000} s down; pid ${serving.pid} serving`;
}

/** Resolves when fault `n` (from 1) of `parts - 1` is due; never rejects (the caller checks for an abort). */
async function due(schedule: FaultOptions['schedule'], start: number, n: number, parts: number, signal: AbortSignal) {
  if ('intervalMs' in schedule) {
    await sleep(Math.max(0, start + n * schedule.intervalMs - Date.now()), undefined, { ref: false });
    return;
  }
  while (schedule.started() < n / parts && !signal.aborted) await sleep(250, undefined, { ref: false });
}
