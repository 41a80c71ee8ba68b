import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, repoRoot, startProcess, waitForHealth, type ManagedProcess } from '../../src/infra';

const entry = fileURLToPath(new URL('./floor-server.ts', import.meta.url));

export interface FloorServer {
  readonly url: string;
  readonly child: ManagedProcess;
  stop(keepLogs?: boolean): Promise<void>;
}

/** Starts bench/lib/floor-server.ts in a child process against the stack's Temporal; resolves once it answers. */
export async function startFloorServer(options: {
  readonly temporalAddress: string;
  readonly namespace: string;
  readonly ttlSeconds: number;
  readonly signal: AbortSignal;
}): Promise<FloorServer> {
  const [port] = (await freePorts(1)) as [number];
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'holdfast-bench-floor-'));
  const args = ['--temporal', options.temporalAddress, '--namespace', options.namespace];
  const child = startProcess(
    'floor server',
    process.execPath,
    ['--import', 'tsx', entry, ...args, '--port', String(port), '--ttl', String(options.ttlSeconds)],
    path.join(logDir, 'floor.log'),
    { cwd: repoRoot, group: true, graceMs: 30_000 },
  );
  const stop = async (keepLogs = false) => {
    await child.stop();
    if (keepLogs) console.error(`floor server log kept in ${child.logFile}`);
    else await rm(logDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, { timeoutMs: 120_000, watch: [child], signal: options.signal });
  } catch (err) {
    await stop(true);
    throw err;
  }
  return { url, child, stop };
}
