import { setTimeout as sleep } from 'node:timers/promises';
import { shardTimeouts } from '../../src/db';
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
  /** A partition's window (epoch ms): from the cut until it was healed. */
  readonly window?: { readonly from: number; readonly to: number };
}

export interface FaultOptions {
  readonly stack: RunStack;
  /** Every `intervalMs` from the start of the load, or as `started()` (the share of shoppers started) passes 1/8, 2/8, ... */
  readonly schedule: { readonly intervalMs: number } | { readonly started: () => number };
  /** Resolves when the load has finished: faults still due are injected at once, one after another. */
  readonly loadDone: Promise<unknown>;
  /** Sends one add-to-cart end to end, retrying until it is answered; fails when it never is. */
  readonly probe: () => Promise<void>;
  readonly signal: AbortSignal;
  /** How long the shard stays cut off: half of it its packets vanish, the other half its connections are reset. */
  readonly partitionMs: number;
  /** Shops during the partition until `stop` aborts (the sales made from the reachable shard). */
  readonly partitionLoad: (stop: AbortSignal) => Promise<void>;
}

// Long enough for clients to notice (failed calls, closed connections), short enough to stay within the run.
const downtimeMs = 2000;

/** Within this a process's ShardSet has marked a cut-off shard unreachable (what test/partition.test.ts asserts). */
const noticedWithinMs = 2 * (shardTimeouts.probeEveryMs + shardTimeouts.probeTimeoutMS);

/**
 * Injects the faults spread over the load, each followed by a recovery probe: network faults between the API and
 * worker and the servers, Temporal's link included (Toxiproxy), hard crashes of the servers and of the worker.
 */
export async function runFaults(options: FaultOptions): Promise<FaultRecord[]> {
  const { stack, signal } = options;
  const network = stack.network!;
  let window: FaultRecord['window'];
  const faults: { fault: string; inject: () => Promise<string> }[] = [
    {
      fault: 'latency 150 ± 100 ms on FerretDB shard 0 for 8 s',
      inject: async () => {
        await network.latency('shard-0', 150, 100);
        await sleep(8000, undefined, { signal });
        await network.heal('shard-0');
        return 'shard 0 answered 50-250 ms late for 8 s; healed';
      },
    },
    {
      fault: `cut FerretDB shard 1 off for ${options.partitionMs / 1000} s (packets lost, then connections reset)`,
      inject: async () => {
        const from = Date.now();
        await network.cutOff('shard-1', 'blackhole');
        // The partition's sales start once holdfast has noticed the cut (a ping's time-out): an add sent before
        // may have claimed its place in a batch of the cut-off shard's bucket, and is decided only after healing
        // (architecture.md, "During a partition"), which would hold up the one-at-a-time partition load.
        await sleep(noticedWithinMs, undefined, { signal });
        const stop = new AbortController();
        const load = options.partitionLoad(stop.signal);
        await sleep(options.partitionMs / 2 - noticedWithinMs, undefined, { signal });
        await network.cutOff('shard-1', 'reset');
        await sleep(options.partitionMs / 2, undefined, { signal });
        await network.heal('shard-1');
        window = { from, to: Date.now() };
        stop.abort();
        await load;
        return `shard 1 unreachable for ${Math.round((window.to - from) / 100) / 10} s; healed`;
      },
    },
    {
      fault: 'reset every connection writing to FerretDB shard 0 for 500 ms',
      inject: async () => {
        await network.resetFor('shard-0', 500);
        return 'shard 0 connections reset mid-write for 500 ms; healed';
      },
    },
    {
      // Between holdfast and Temporal: the API's starts and updates and the worker's polls and completions.
      fault: 'latency 200 ± 100 ms on the Temporal link for 6 s, then its connections reset for 1 s',
      inject: async () => {
        await network.latency('temporal', 200, 100);
        await sleep(6000, undefined, { signal });
        await network.heal('temporal');
        await network.resetFor('temporal', 1000);
        return 'Temporal answered 100-300 ms late for 6 s, then the API and worker connections were reset for 1 s; healed';
      },
    },
    { fault: 'SIGKILL FerretDB shard 1, start it again', inject: () => restart(stack, 'ferretdb shard 1', 'SIGKILL') },
    { fault: 'SIGKILL the worker, start another', inject: () => killWorker(stack) },
    { fault: 'SIGKILL the Temporal dev server, start it again', inject: () => restart(stack, 'temporal', 'SIGKILL') },
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
      records.push({
        fault,
        at: elapsed(at),
        detail,
        duringLoad,
        recoveredAfterSeconds,
        ...(window ? { window } : {}),
      });
      window = undefined;
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

/** Stop a server (SIGTERM, or kill it with `signal`), wait, start it again on the same port and data. */
async function restart(stack: RunStack, server: string, signal?: NodeJS.Signals): Promise<string> {
  const { stopped, serving } = await stack.restartServer(server, downtimeMs, signal);
  const how = signal ? `${signal}ed` : 'stopped';
  return `${server} pid ${stopped.pid} ${how}; ${downtimeMs / 1000} s down; pid ${serving.pid} serving`;
}

/** Resolves when fault `n` (from 1) of `parts - 1` is due; never rejects (the caller checks for an abort). */
async function due(schedule: FaultOptions['schedule'], start: number, n: number, parts: number, signal: AbortSignal) {
  if ('intervalMs' in schedule) {
    await sleep(Math.max(0, start + n * schedule.intervalMs - Date.now()), undefined, { ref: false });
    return;
  }
  while (schedule.started() < n / parts && !signal.aborted) await sleep(250, undefined, { ref: false });
}
