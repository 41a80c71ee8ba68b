import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config';
import { ensureFerretDbBinary, ensureTemporalBinaries, freePorts, homePaths, repoRoot } from '../../src/infra';
import { spawnGroup, type GroupChild } from './process-group';
import type { ExternalStack } from './scenario-args';

/** The stack a scenario drives: one the bench started (`src/main.ts` in a child process) or a running one. */
export interface BenchStack {
  readonly apiUrl: string;
  readonly opsToken: string;
  /** Temporal's frontend, when known (the floor needs it). */
  readonly temporalAddress: string | undefined;
  /** The all-in-one process (worker and API) the bench started; its servers are its children. */
  readonly child: GroupChild | undefined;
  /** Stops what the bench started and removes its throwaway data (logs are kept when `keepLogs`). */
  stop(keepLogs?: boolean): Promise<void>;
}

export interface StackChildOptions {
  readonly ttlSeconds: number;
  readonly namespace: string;
  readonly external: ExternalStack | undefined;
  readonly signal: AbortSignal;
}

/**
 * Starts `node --import tsx src/main.ts` with free ports and a throwaway HOLDFAST_HOME (its bin and venv are
 * links to the repository's installed servers) and waits until GET /health answers 200.
 */
export async function startBenchStack(options: StackChildOptions): Promise<BenchStack> {
  if (options.external) {
    const { apiUrl, opsToken, temporalAddress } = options.external;
    await waitForHealth(apiUrl, undefined, options.signal, 10_000);
    return { apiUrl, opsToken, temporalAddress, child: undefined, stop: async () => {} };
  }

  const config = loadConfig();
  await Promise.all([ensureTemporalBinaries(config.home, config.PATH), ensureFerretDbBinary(config.home, config.PATH)]);
  const installed = homePaths(config.home);
  const home = await mkdtemp(path.join(os.tmpdir(), 'holdfast-bench-'));
  await symlink(installed.bin, path.join(home, 'bin'));
  await symlink(installed.venv, path.join(home, 'venv'));

  const [temporalPort, uiPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const ferretDbBasePort = await consecutiveFreePorts([temporalPort, uiPort, apiPort]);
  const opsToken = randomBytes(24).toString('base64url');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOLDFAST_HOME: home,
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    FERRETDB_BASE_PORT: String(ferretDbBasePort),
    API_HOST: '127.0.0.1',
    API_PORT: String(apiPort),
    TEMPORAL_NAMESPACE: options.namespace,
    HOLDFAST_OPS_TOKEN: opsToken,
    HOLD_TTL_SECONDS: String(options.ttlSeconds),
    MAX_HOLD_SECONDS: String(Math.max(3600, options.ttlSeconds)),
    RATE_LIMIT_IP_PER_MINUTE: '100000000',
    RATE_LIMIT_CART_PER_MINUTE: '1000000',
    LOG_LEVEL: 'warn',
  };
  // The bench's servers are its own, whatever this shell points at.
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_UI_URL', 'MONGODB_URI', 'NODE_ENV']) delete env[name];

  const child = spawnGroup('holdfast', process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env,
    cwd: repoRoot,
    logFile: path.join(home, 'logs', 'main.log'),
  });
  const stop = async (keepLogs = false) => {
    await child.stop();
    if (keepLogs) {
      await rm(path.join(home, 'data'), { recursive: true, force: true });
      console.error(`stack logs kept in ${path.join(home, 'logs')}`);
    } else {
      await rm(home, { recursive: true, force: true });
    }
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  try {
    await waitForHealth(apiUrl, child, options.signal, 180_000);
  } catch (err) {
    await stop(true);
    throw err;
  }
  return { apiUrl, opsToken, temporalAddress: `127.0.0.1:${temporalPort}`, child, stop };
}

/** Polls GET /health until it is 200; fails when the child exits or the time runs out. */
export async function waitForHealth(
  baseUrl: string,
  child: GroupChild | undefined,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    if (child && child.exitCode() !== null) {
      throw new Error(`${child.name} exited with code ${child.exitCode()}:\n${await tail(child.logFile)}`);
    }
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(5000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(500);
  }
  throw new Error(
    `${baseUrl}/health did not answer 200 within ${timeoutMs / 1000} s (last: ${last})${
      child ? `\n${await tail(child.logFile)}` : ''
    }`,
  );
}

export async function tail(file: string, chars = 4000): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).slice(-chars);
  } catch {
    return `(no log at ${file})`;
  }
}

/** A free port whose successor is free too (FerretDB's shards take consecutive ports). */
async function consecutiveFreePorts(avoid: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const [port] = (await freePorts(1)) as [number];
    if (port >= 65535 || avoid.includes(port) || avoid.includes(port + 1)) continue;
    if ((await canListen(port)) && (await canListen(port + 1))) return port;
  }
  throw new Error('found no two consecutive free ports for FerretDB');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
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
