import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config';
import { ensureFerretDbBinary, startFerretDbShards, type ManagedProcess } from '../../src/infra';

/** Two FerretDB shards on ports of their own, apart from `npm start` (27017) and the tests. */
const localPorts = [47017, 47018];

export interface BenchServers {
  readonly uris: readonly string[];
  /** True when MONGODB_URI named the servers: the bench did not start them and must leave them as it found them. */
  readonly external: boolean;
  stop(): Promise<void>;
}

/** The servers named by MONGODB_URI, or FerretDB shards started for this run with throwaway data. */
export async function startBenchServers(config: Config): Promise<BenchServers> {
  if (config.mongoUris.length > 0) return { uris: config.mongoUris, external: true, stop: async () => {} };
  const binary = await ensureFerretDbBinary(config.home, config.PATH);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'holdfast-bench-'));
  let procs: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()));
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const started = await startFerretDbShards({
      binary,
      ports: localPorts,
      dataDir,
      logDir: path.join(dataDir, 'logs'),
    });
    procs = started.procs;
    return { uris: started.uris, external: false, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
