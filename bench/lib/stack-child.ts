import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunStack, waitForHealth, type ManagedProcess } from '../../src/infra';
import type { ExternalStack } from './scenario-args';

/** The stack a scenario drives: one the bench started (`src/main.ts` in a child process) or a running one. */
export interface BenchStack {
  readonly apiUrl: string;
  readonly opsToken: string;
  /** Temporal's frontend, when known (the floor needs it). */
  readonly temporalAddress: string | undefined;
  /** The all-in-one process (worker and API) the bench started; its servers are its children. */
  readonly child: ManagedProcess | undefined;
  /** Stops what the bench started and removes its throwaway data (logs are kept when `keepLogs`). */
  stop(keepLogs?: boolean): Promise<void>;
}

export interface StackChildOptions {
  readonly ttlSeconds: number;
  readonly namespace: string;
  readonly external: ExternalStack | undefined;
  readonly signal: AbortSignal;
}

/** Starts the all-in-one RunStack in a throwaway HOLDFAST_HOME and waits until GET /health answers 200. */
export async function startBenchStack(options: StackChildOptions): Promise<BenchStack> {
  if (options.external) {
    const { apiUrl, opsToken, temporalAddress } = options.external;
    await waitForHealth(apiUrl, { timeoutMs: 10_000, signal: options.signal });
    return { apiUrl, opsToken, temporalAddress, child: undefined, stop: async () => {} };
  }

  const home = await mkdtemp(path.join(os.tmpdir(), 'holdfast-bench-'));
  const remove = async (keepLogs: boolean) => {
    if (keepLogs) {
      await rm(path.join(home, 'data'), { recursive: true, force: true });
      console.error(`stack logs kept in ${path.join(home, 'logs')}`);
    } else {
      await rm(home, { recursive: true, force: true });
    }
  };
  let stack: RunStack;
  try {
    stack = await RunStack.start({
      layout: 'all-in-one',
      dir: home,
      ttlSeconds: options.ttlSeconds,
      namespace: options.namespace,
      signal: options.signal,
    });
  } catch (err) {
    await remove(true);
    throw err;
  }
  return {
    apiUrl: stack.apiUrl,
    opsToken: stack.opsToken,
    temporalAddress: stack.temporalAddress,
    child: stack.api,
    async stop(keepLogs = false) {
      await stack.stop();
      await remove(keepLogs);
    },
  };
}

const levels: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * What the stack logged (it runs at LOG_LEVEL=warn, so every line is a warning or an error), as distinct
 * messages with counts: pino lines by message and error, other warnings and errors with ids and numbers masked.
 */
export async function logDigest(file: string): Promise<{ message: string; count: number }[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let key: string;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { type?: string; message?: string } };
      const err = entry.err ? ` (${entry.err.type ?? 'error'}: ${entry.err.message ?? ''})` : '';
      key = `${levels[entry.level ?? 0] ?? `level ${entry.level}`}: ${entry.msg ?? ''}${err}`;
    } catch {
      // Not pino: the SDK's own log lines, the workflow bundler's report, the URLs main.ts prints.
      if (!/\[(WARN|ERROR)\]|\bError\b/.test(line)) continue;
      key = line.replace(/\b[0-9a-f]{8,}\b|\d+/g, '#');
    }
    key = key.slice(0, 400);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count);
}
