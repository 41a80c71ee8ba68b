import path from 'node:path';
import type { Config } from '../config';
import { ensureFerretDbBinary, startFerretDbShards } from './ferretdb';
import { homePaths } from './paths';
import type { ManagedProcess } from './process';
import { ensureTemporalBinaries, startTemporalDevServer } from './temporal';

/** Where the servers are, and how to stop the ones holdfast started itself. */
export interface Stack {
  readonly temporalAddress: string;
  /** The Temporal Web UI, when known. */
  readonly temporalUiUrl: string | undefined;
  readonly mongoUris: readonly string[];
  /** Names of the servers this process started (empty when everything is external). */
  readonly started: readonly string[];
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Directory for server state; defaults to HOLDFAST_HOME/data. */
  readonly dataDir?: string;
  /** Directory for server logs; defaults to HOLDFAST_HOME/logs. */
  readonly logDir?: string;
  /** Serve the Temporal Web UI (default true). */
  readonly ui?: boolean;
  /** FerretDB ports, one per shard, instead of FERRETDB_SHARDS ports from FERRETDB_BASE_PORT. */
  readonly ferretDbPorts?: readonly number[];
}

/**
 * Brings up whatever is not external: Temporal unless TEMPORAL_ADDRESS is set, FerretDB shards unless
 * MONGODB_URI is set. Installs the pinned binaries on first use; later starts reuse them.
 */
export async function startStack(config: Config, options: StackOptions = {}): Promise<Stack> {
  const paths = homePaths(config.home);
  const dataDir = options.dataDir ?? paths.data;
  const logDir = options.logDir ?? paths.logs;
  const procs: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()));
  };

  try {
    let mongoUris = config.mongoUris;
    const ferretBinary = mongoUris.length === 0 ? ensureFerretDbBinary(config.home, config.PATH) : undefined;
    const temporalBinaries = config.TEMPORAL_ADDRESS ? undefined : ensureTemporalBinaries(config.home, config.PATH);

    if (ferretBinary) {
      const shards = await startFerretDbShards({
        binary: await ferretBinary,
        ports:
          options.ferretDbPorts ??
          Array.from({ length: config.FERRETDB_SHARDS }, (_, i) => config.FERRETDB_BASE_PORT + i),
        dataDir: path.join(dataDir, 'ferretdb'),
        logDir,
      });
      procs.push(...shards.procs);
      mongoUris = shards.uris;
    }

    let temporalAddress = config.TEMPORAL_ADDRESS ?? '';
    let temporalUiUrl = config.TEMPORAL_UI_URL;
    if (temporalBinaries) {
      const ui = options.ui ?? true;
      procs.push(
        await startTemporalDevServer({
          cli: (await temporalBinaries).cli,
          port: config.TEMPORAL_PORT,
          uiPort: ui ? config.TEMPORAL_UI_PORT : undefined,
          namespace: config.TEMPORAL_NAMESPACE,
          dbFile: path.join(dataDir, 'temporal.db'),
          logFile: path.join(logDir, 'temporal.log'),
        }),
      );
      temporalAddress = `127.0.0.1:${config.TEMPORAL_PORT}`;
      if (ui) temporalUiUrl ??= `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`;
    }

    return { temporalAddress, temporalUiUrl, mongoUris, started: procs.map((p) => p.name), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
