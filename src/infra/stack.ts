import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config';
import { ensureFerretDbBinary, startFerretDbShard, type ShardOptions } from './ferretdb';
import { homePaths } from './paths';
import { assertPortsFree, type PortUse } from './ports';
import type { ManagedProcess } from './process';
import { ensureTemporalBinaries, startTemporalDevServer } from './temporal';
import { startTemporalCluster } from './temporal-cluster';

/** Where the servers are, and how to stop the ones holdfast started itself. */
export interface Stack {
  readonly temporalAddress: string;
  /** The Temporal Web UI, when known. */
  readonly temporalUiUrl: string | undefined;
  readonly mongoUris: readonly string[];
  /** Names of the servers this process started (empty when everything is external). */
  readonly started: readonly string[];
  /** The processes of the servers now running (after a restart, the new one). */
  servers(): readonly ManagedProcess[];
  /**
   * Stops one server this process started (by its name in `started`; with `signal`, kills it so instead: SIGKILL
   * is a hard crash), waits `downtimeMs`, and starts it again on its port with its data (a fault of the chaos run). Resolves to the process stopped and the one now serving.
   */
  restart(
    name: string,
    downtimeMs: number,
    signal?: NodeJS.Signals,
  ): Promise<{ stopped: ManagedProcess; serving: ManagedProcess }>;
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
  /** Ports the caller will listen on (the API): checked free with the servers' before anything starts. */
  readonly otherPorts?: readonly PortUse[];
}

/** Where the embedded servers keep their state under a data directory (HOLDFAST_HOME/data by default). */
export function stackDataPaths(dataDir: string) {
  return {
    /** One directory of SQLite files per FerretDB shard. */
    ferretDb: path.join(dataDir, 'ferretdb'),
    /** The Temporal dev server's SQLite file: every run and its history. */
    temporalDb: path.join(dataDir, 'temporal.db'),
    /** The Temporal cluster's (HOLDFAST_TEMPORAL=cluster): its PostgreSQL data and its servers' config. */
    temporalCluster: path.join(dataDir, 'temporal-cluster'),
  };
}

/** The ports of the servers startStack would start (none for the external ones). */
export function stackPorts(config: Config, options: StackOptions = {}): PortUse[] {
  const host = '127.0.0.1';
  const uses: PortUse[] = [];
  if (config.mongoUris.length === 0) {
    for (const [shard, port] of ferretDbPorts(config, options).entries()) {
      uses.push({ port, host, what: `FerretDB shard ${shard}`, envVar: 'FERRETDB_BASE_PORT' });
    }
  }
  if (!config.TEMPORAL_ADDRESS && config.HOLDFAST_TEMPORAL === 'cluster') {
    // Its other ports (PostgreSQL, the other services') are free ones picked at each start.
    uses.push({ port: config.TEMPORAL_PORT, host, what: 'Temporal cluster frontend', envVar: 'TEMPORAL_PORT' });
  } else if (!config.TEMPORAL_ADDRESS) {
    uses.push({ port: config.TEMPORAL_PORT, host, what: 'Temporal dev server', envVar: 'TEMPORAL_PORT' });
    if (options.ui ?? true) {
      uses.push({ port: config.TEMPORAL_UI_PORT, host, what: 'Temporal Web UI', envVar: 'TEMPORAL_UI_PORT' });
    }
  }
  return uses;
}

function ferretDbPorts(config: Config, options: StackOptions): readonly number[] {
  return (
    options.ferretDbPorts ?? Array.from({ length: config.FERRETDB_SHARDS }, (_, i) => config.FERRETDB_BASE_PORT + i)
  );
}

/**
 * Brings up whatever is not external: Temporal unless TEMPORAL_ADDRESS is set (the dev server, or with
 * HOLDFAST_TEMPORAL=cluster PostgreSQL and the four services of a cluster), FerretDB shards unless
 * MONGODB_URI is set. Installs the pinned binaries on first use; later starts reuse them. Throws
 * PortsInUseError, having installed, started and written nothing, when one of its ports is taken.
 */
export async function startStack(config: Config, options: StackOptions = {}): Promise<Stack> {
  await assertPortsFree([...stackPorts(config, options), ...(options.otherPorts ?? [])]);
  const paths = homePaths(config.home);
  const dataDir = options.dataDir ?? paths.data;
  const logDir = options.logDir ?? paths.logs;
  // Each server with the way to start it again: a restart starts exactly what the first start did. Its tier orders
  // the stop: the highest first, since a server depends on lower ones (the cluster's services on its PostgreSQL).
  const servers: { proc: ManagedProcess; start: () => Promise<ManagedProcess>; tier: number }[] = [];
  const serve = async (start: () => Promise<ManagedProcess>, tier = 0) =>
    servers.push({ proc: await start(), start, tier });
  const stop = async () => {
    const all = servers.splice(0);
    for (const tier of [...new Set(all.map((s) => s.tier))].sort((a, b) => b - a)) {
      await Promise.all(all.filter((s) => s.tier === tier).map((s) => s.proc.stop()));
    }
  };
  const restart = async (name: string, downtimeMs: number, signal?: NodeJS.Signals) => {
    const server = servers.find((s) => s.proc.name === name);
    if (!server) throw new Error(`no server named ${name} was started here`);
    const stopped = server.proc;
    if (signal) {
      stopped.kill(signal);
      await stopped.exited;
    } else {
      await stopped.stop();
    }
    await sleep(downtimeMs);
    server.proc = await server.start();
    return { stopped, serving: server.proc };
  };

  try {
    let mongoUris = config.mongoUris;
    const ferretBinary = mongoUris.length === 0 ? ensureFerretDbBinary(config.home, config.PATH) : undefined;
    const temporalBinaries = config.TEMPORAL_ADDRESS ? undefined : ensureTemporalBinaries(config.home, config.PATH);

    if (ferretBinary) {
      const shards: ShardOptions = {
        binary: await ferretBinary,
        ports: ferretDbPorts(config, options),
        dataDir: stackDataPaths(dataDir).ferretDb,
        logDir,
      };
      for (const shard of shards.ports.keys()) await serve(() => startFerretDbShard(shards, shard));
      mongoUris = shards.ports.map((port) => `mongodb://127.0.0.1:${port}/`);
    }

    let temporalAddress = config.TEMPORAL_ADDRESS ?? '';
    let temporalUiUrl = config.TEMPORAL_UI_URL;
    if (temporalBinaries && config.HOLDFAST_TEMPORAL === 'cluster') {
      const cluster = {
        home: config.home,
        searchPath: config.PATH,
        cli: (await temporalBinaries).cli,
        frontendPort: config.TEMPORAL_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        dir: stackDataPaths(dataDir).temporalCluster,
        logDir,
      };
      temporalAddress = await startTemporalCluster(cluster, serve);
    } else if (temporalBinaries) {
      const ui = options.ui ?? true;
      const devServer = {
        cli: (await temporalBinaries).cli,
        port: config.TEMPORAL_PORT,
        uiPort: ui ? config.TEMPORAL_UI_PORT : undefined,
        namespace: config.TEMPORAL_NAMESPACE,
        dbFile: stackDataPaths(dataDir).temporalDb,
        logFile: path.join(logDir, 'temporal.log'),
      };
      await serve(() => startTemporalDevServer(devServer));
      temporalAddress = `127.0.0.1:${config.TEMPORAL_PORT}`;
      if (ui) temporalUiUrl ??= `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`;
    }

    const started = servers.map((s) => s.proc.name);
    return {
      temporalAddress,
      temporalUiUrl,
      mongoUris,
      started,
      servers: () => servers.map((s) => s.proc),
      restart,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
