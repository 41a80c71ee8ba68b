import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configSchema, loadConfig } from '../../src/config';
import {
  ensureFerretDbBinary,
  ensureTemporalBinaries,
  freePorts,
  repoRoot,
  startFerretDbShards,
  startTemporalDevServer,
  type DevServerOptions,
  type ManagedProcess,
} from '../../src/infra';
import { elapsed, log } from './log';

export interface ClusterOptions {
  /** Server state and logs; a restart keeps the state. */
  readonly dataDir: string;
  readonly ttlSeconds: number;
  readonly shards: number;
}

/** The API or a worker: `node --import tsx <script>` with its own environment, output to a log file. */
interface NodeChild {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL when it has not exited after a while. */
  stop(): Promise<void>;
}

// As src/infra does for its servers: a child gets SIGTERM when the chaos run dies, even by SIGKILL.
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

function startNode(name: string, script: string, env: NodeJS.ProcessEnv, logFile: string): NodeChild {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = createWriteStream(logFile, { flags: 'a' });
  const argv = ['--import', 'tsx', script];
  const child: ChildProcess = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', process.execPath, ...argv], { env, cwd: repoRoot })
    : spawn(process.execPath, argv, { env, cwd: repoRoot });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${script}`);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    pid: child.pid,
    logFile,
    exited,
    kill: (signal) => {
      if (running()) child.kill(signal);
    },
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      // The worker's shutdown grace time is 10 s; past it, it only waits for activities that ignore cancellation.
      if (await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)])) return;
      log(`${name} (pid ${child.pid}) did not stop within 15 s of SIGTERM: SIGKILL`);
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * The whole system on free ports in a throwaway directory: a headless Temporal dev server with a database
 * file, FerretDB shards, one API process and one worker process, started the way production runs them
 * (`src/api/server.ts`, `src/worker.ts` against TEMPORAL_ADDRESS and MONGODB_URI). Each fault replaces one
 * part and keeps its port and data.
 */
export class Cluster {
  /** Processes that ended without being asked to: none may (each fault restarts what it stopped). */
  readonly unexpectedExits: string[] = [];
  private temporal: ManagedProcess | undefined;
  private readonly shardProcs: (ManagedProcess | undefined)[] = [];
  private api: NodeChild | undefined;
  private worker: NodeChild | undefined;
  private workers = 0;
  private readonly stopping = new Set<NodeChild>();

  private constructor(
    readonly apiUrl: string,
    readonly temporalAddress: string,
    readonly opsToken: string,
    private readonly temporalOptions: DevServerOptions,
    private readonly ferretBinary: string,
    private readonly shardPorts: readonly number[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly dataDir: string,
  ) {}

  get logDir(): string {
    return path.join(this.dataDir, 'logs');
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    const config = loadConfig();
    const [temporal, ferretBinary] = await Promise.all([
      ensureTemporalBinaries(config.home, config.PATH),
      ensureFerretDbBinary(config.home, config.PATH),
    ]);
    const [temporalPort, apiPort, metricsPort, ...shardPorts] = (await freePorts(3 + options.shards)) as [
      number,
      number,
      number,
    ];
    const logDir = path.join(options.dataDir, 'logs');
    const opsToken = randomBytes(24).toString('base64url');
    const suffix = randomBytes(4).toString('hex');
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Only what the run sets below reaches the API and the worker, whatever this shell exports.
    for (const name of Object.keys(configSchema.shape))
      if (name !== 'PATH' && name !== 'HOLDFAST_HOME') delete env[name];
    Object.assign(env, {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      MONGODB_URI: shardPorts.map((p) => `mongodb://127.0.0.1:${p}/`).join(','),
      STOCK_DB: `chaos_stock_${suffix}`,
      CARTS_DB: `chaos_carts_${suffix}`,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      // Not the default 9464: the run must not collide with a worker or another run on this machine.
      WORKER_METRICS_PORT: String(metricsPort),
      HOLDFAST_OPS_TOKEN: opsToken,
      HOLDFAST_TOKEN_SECRET: randomBytes(32).toString('base64url'),
      HOLD_TTL_SECONDS: String(options.ttlSeconds),
      RATE_LIMIT_IP_PER_MINUTE: '100000000',
      RATE_LIMIT_CART_PER_MINUTE: '1000000',
    });
    const cluster = new Cluster(
      `http://127.0.0.1:${apiPort}`,
      `127.0.0.1:${temporalPort}`,
      opsToken,
      {
        cli: temporal.cli,
        port: temporalPort,
        namespace: 'default',
        dbFile: path.join(options.dataDir, 'temporal.db'),
        logFile: path.join(logDir, 'temporal.log'),
      },
      ferretBinary,
      shardPorts,
      env,
      options.dataDir,
    );
    try {
      await Promise.all(shardPorts.map((_, n) => cluster.startShard(n)));
      cluster.temporal = await startTemporalDevServer(cluster.temporalOptions);
      cluster.api = cluster.startChild('api', 'src/api/server.ts', path.join(logDir, 'api.log'));
      // The worker starts once the API is healthy: both run ensureSchema at start, and two processes creating
      // the collections of a fresh database at once make one of them exit with NamespaceExists.
      await cluster.waitForHealth(180_000);
      cluster.startWorker();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Waits until GET /health is 200: the API is listening and Temporal and every shard answer it. */
  async waitForHealth(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.unexpectedExits.length > 0) throw new Error(this.unexpectedExits.join('\n'));
      const res = await fetch(`${this.apiUrl}/health`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
      if (res?.status === 200) return;
      if (Date.now() > deadline)
        throw new Error(`${this.apiUrl}/health did not answer 200 within ${timeoutMs / 1000} s`);
      await sleep(500);
    }
  }

  /** Fault: SIGKILL the worker mid-work (no graceful shutdown), then start a new one. */
  async killWorker(): Promise<string> {
    const old = this.worker!;
    this.stopping.add(old);
    old.kill('SIGKILL');
    await old.exited;
    const next = this.startWorker();
    return `worker pid ${old.pid} SIGKILLed; worker pid ${next.pid} started`;
  }

  /** Fault: stop the Temporal dev server (SIGTERM), wait, start it again on the same port and database file. */
  async restartTemporal(downtimeMs: number): Promise<string> {
    const old = this.temporal!;
    await old.stop();
    await sleep(downtimeMs);
    this.temporal = await startTemporalDevServer(this.temporalOptions);
    return `temporal pid ${old.child.pid} stopped; ${downtimeMs / 1000} s down; pid ${this.temporal.child.pid} serving`;
  }

  /** Fault: stop one FerretDB shard, wait, start it again on the same port and data directory. */
  async restartShard(shard: number, downtimeMs: number): Promise<string> {
    const old = this.shardProcs[shard]!;
    await old.stop();
    await sleep(downtimeMs);
    const next = await this.startShard(shard);
    return `ferretdb shard ${shard} pid ${old.child.pid} stopped; ${downtimeMs / 1000} s down; pid ${next.child.pid} serving`;
  }

  /** Stops everything this run started: the API and the worker first, then the servers. */
  async stop(): Promise<void> {
    const children = [this.api, this.worker].filter((c): c is NodeChild => c !== undefined);
    for (const c of children) this.stopping.add(c);
    await Promise.all(children.map((c) => c.stop()));
    const servers = [this.temporal, ...this.shardProcs].filter((p): p is ManagedProcess => p !== undefined);
    await Promise.all(servers.map((p) => p.stop()));
  }

  private startWorker(): NodeChild {
    this.workers++;
    this.worker = this.startChild(
      `worker ${this.workers}`,
      'src/worker.ts',
      path.join(this.logDir, `worker-${this.workers}.log`),
    );
    return this.worker;
  }

  private startChild(name: string, script: string, logFile: string): NodeChild {
    const child = startNode(name, script, this.env, logFile);
    void child.exited.then(() => {
      if (this.stopping.has(child)) return;
      const message = `${name} (pid ${child.pid}) exited by itself at +${elapsed()}s; see ${logFile}`;
      this.unexpectedExits.push(message);
      log(`!! ${message}`);
    });
    return child;
  }

  private async startShard(shard: number): Promise<ManagedProcess> {
    // One call per shard, so a restart starts exactly what the first start did (same port, same data).
    const { procs } = await startFerretDbShards({
      binary: this.ferretBinary,
      ports: [this.shardPorts[shard]!],
      dataDir: path.join(this.dataDir, `ferretdb-${shard}`),
      logDir: path.join(this.logDir, `ferretdb-${shard}`),
    });
    this.shardProcs[shard] = procs[0]!;
    return procs[0]!;
  }
}
