import { randomBytes } from 'node:crypto';
import { chmod, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { configSchema, loadConfig } from '../config';
import { ensureFerretDbBinary } from './ferretdb';
import { waitForHealth } from './health';
import { homePaths, repoRoot } from './paths';
import { consecutiveFreePorts } from './ports';
import { freePorts, startProcess, type ManagedProcess, type StartOptions } from './process';
import { startStack, type Stack } from './stack';
import { ensureTemporalBinaries } from './temporal';
import { ensureTemporalServerBinaries } from './temporal-cluster';
import { ensureToxiproxyBinary, Toxiproxies } from './toxiproxy';

/**
 * How the run's processes are laid out.
 * - `all-in-one`: `src/main.ts` (one worker and the API) leading a process group of its own; it starts Temporal
 *   and the FerretDB shards itself, as `npm start` does. The benchmarks measure this process.
 * - `split`: a headless Temporal dev server and the FerretDB shards started here (`startStack`), the API
 *   (`src/api/server.ts`) and a worker (`src/worker.ts`) as processes of their own against them, the way
 *   production runs them; each part can be killed or restarted alone (the chaos run's faults).
 */
export type RunLayout = 'all-in-one' | 'split';

export interface RunStackOptions {
  readonly layout: RunLayout;
  /** The run's HOLDFAST_HOME, an empty throwaway directory: server data in data/, logs in logs/. */
  readonly dir: string;
  readonly ttlSeconds: number;
  readonly namespace?: string;
  /** FerretDB shards (default 2). */
  readonly shards?: number;
  readonly signal?: AbortSignal;
  /** Told of a process of the run that ended without being asked to. */
  readonly onUnexpectedExit?: (message: string) => void;
}

/** Everything holdfast runs for one bench or chaos run, on free ports, with its own data, tokens and logs. */
export class RunStack {
  /** Processes that ended without being asked to. */
  readonly unexpectedExits: string[] = [];
  /** `all-in-one`: the main process (worker and API; the servers are its children). `split`: the API. */
  api: ManagedProcess | undefined;
  /** `split`: the worker now running. */
  worker: ManagedProcess | undefined;
  /**
   * `split`: the Toxiproxy between the API and worker and each server: proxies `shard-<n>` (FerretDB shard n)
   * and `temporal`, for the network faults.
   */
  network: Toxiproxies | undefined;
  private workers = 0;
  private servers: Stack | undefined;
  private readonly asked = new Set<ManagedProcess>();

  private constructor(
    private readonly options: RunStackOptions,
    readonly apiUrl: string,
    readonly temporalAddress: string,
    readonly opsToken: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get logDir(): string {
    return homePaths(this.options.dir).logs;
  }

  /** Starts the stack and waits until GET /health answers 200; stops what it started when that fails. */
  static async start(options: RunStackOptions): Promise<RunStack> {
    // The binaries are installed in the repository's HOLDFAST_HOME once; the run's home links to them.
    const installed = loadConfig();
    // Which Temporal the run gets follows HOLDFAST_TEMPORAL, as for `npm start`: the dev server or the cluster.
    const cluster = installed.HOLDFAST_TEMPORAL === 'cluster';
    const [, , , toxiproxy] = await Promise.all([
      ensureTemporalBinaries(installed.home, installed.PATH),
      ensureFerretDbBinary(installed.home, installed.PATH),
      cluster ? ensureTemporalServerBinaries(installed.home, installed.PATH) : undefined,
      options.layout === 'split' ? ensureToxiproxyBinary(installed.home, installed.PATH) : undefined,
    ]);
    const { bin, venv } = homePaths(installed.home);
    await mkdir(options.dir, { recursive: true });
    // A mkdtemp home's 0700 would keep out PostgreSQL's own user (it refuses to run as root).
    if (cluster) await chmod(options.dir, 0o711);
    await symlink(bin, homePaths(options.dir).bin);
    await symlink(venv, homePaths(options.dir).venv);

    const shards = options.shards ?? 2;
    const [temporalPort, uiPort, apiPort, metricsPort, ...shardPorts] = (await freePorts(4 + shards)) as [
      number,
      number,
      number,
      number,
      ...number[],
    ];
    const ours = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      HOLDFAST_HOME: options.dir,
      TEMPORAL_NAMESPACE: options.namespace ?? 'default',
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      HOLDFAST_OPS_TOKEN: randomBytes(24).toString('base64url'),
      HOLDFAST_TOKEN_SECRET: randomBytes(32).toString('base64url'),
      HOLD_TTL_SECONDS: String(options.ttlSeconds),
      MAX_HOLD_SECONDS: String(Math.max(3600, options.ttlSeconds)),
      RATE_LIMIT_IP_PER_MINUTE: '100000000',
      RATE_LIMIT_CART_PER_MINUTE: '1000000',
      FERRETDB_SHARDS: String(shards),
      HOLDFAST_TEMPORAL: installed.HOLDFAST_TEMPORAL,
    };
    const servers = { ...ours, TEMPORAL_PORT: String(temporalPort) };
    const env =
      options.layout === 'all-in-one'
        ? runEnv({
            ...servers,
            TEMPORAL_UI_PORT: String(uiPort),
            FERRETDB_BASE_PORT: String(await consecutiveFreePorts(shards, [temporalPort, uiPort, apiPort])),
          })
        : runEnv({
            ...ours,
            TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
            MONGODB_URI: shardPorts.map((p) => `mongodb://127.0.0.1:${p}/`).join(','),
            // Not the default 9464: the run must not collide with a worker or another run on this machine.
            WORKER_METRICS_PORT: String(metricsPort),
          });
    const stack = new RunStack(
      options,
      `http://127.0.0.1:${apiPort}`,
      `127.0.0.1:${temporalPort}`,
      ours.HOLDFAST_OPS_TOKEN,
      env,
    );
    try {
      if (options.layout === 'all-in-one') {
        // main.ts stops its servers on SIGTERM; a loaded worker may take a while to drain.
        stack.api = stack.startNode('holdfast', 'src/main.ts', 'main.log', { group: true, graceMs: 30_000 });
        await stack.waitForHealth(180_000);
      } else {
        stack.servers = await startStack(loadConfig(runEnv(servers)), { ui: false, ferretDbPorts: shardPorts });
        // The API and the worker reach every server through its proxy (the run's own checks go straight to them).
        stack.network = await Toxiproxies.start({
          binary: toxiproxy!,
          logFile: path.join(homePaths(options.dir).logs, 'toxiproxy.log'),
        });
        const proxied: string[] = [];
        for (const [n, port] of shardPorts.entries()) {
          proxied.push(`mongodb://${await stack.network.proxy(`shard-${n}`, `127.0.0.1:${port}`)}/`);
        }
        env.MONGODB_URI = proxied.join(',');
        env.TEMPORAL_ADDRESS = await stack.network.proxy('temporal', `127.0.0.1:${temporalPort}`);
        stack.api = stack.startNode('api', 'src/api/server.ts', 'api.log');
        // The worker starts once the API is healthy: both run ensureSchema at start, and two processes creating
        // the collections of a fresh database at once make one of them exit with NamespaceExists.
        await stack.waitForHealth(180_000);
        stack.startWorker();
      }
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  /** Waits until GET /health is 200: the API is listening and Temporal and every shard answer it. */
  waitForHealth(timeoutMs: number): Promise<void> {
    const watch = [this.api, this.worker].filter((p): p is ManagedProcess => p !== undefined);
    return waitForHealth(this.apiUrl, { timeoutMs, watch, signal: this.options.signal });
  }

  /** `split`: starts a worker (another, after a kill). */
  startWorker(): ManagedProcess {
    this.workers++;
    this.worker = this.startNode(`worker ${this.workers}`, 'src/worker.ts', `worker-${this.workers}.log`);
    return this.worker;
  }

  /** Sends `signal` to one of the run's processes and waits until it has exited; its exit was asked for. */
  async kill(proc: ManagedProcess, signal: NodeJS.Signals): Promise<void> {
    this.asked.add(proc);
    proc.kill(signal);
    await proc.exited;
  }

  /**
   * `split`: stops a server (`temporal`, `ferretdb shard <n>`; with `signal`, kills it so: SIGKILL is a hard crash),
   * waits, starts it again on its port and data.
   */
  restartServer(
    name: string,
    downtimeMs: number,
    signal?: NodeJS.Signals,
  ): Promise<{ stopped: ManagedProcess; serving: ManagedProcess }> {
    if (!this.servers) throw new Error('only a split stack restarts its servers');
    return this.servers.restart(name, downtimeMs, signal);
  }

  /** Stops everything the run started: the API and the worker first, then the servers. */
  async stop(): Promise<void> {
    const children = [this.api, this.worker].filter((p): p is ManagedProcess => p !== undefined);
    for (const child of children) this.asked.add(child);
    await Promise.all(children.map((c) => c.stop()));
    await this.network?.stop();
    await this.servers?.stop();
  }

  private startNode(name: string, script: string, log: string, options: StartOptions = {}): ManagedProcess {
    const logFile = path.join(this.logDir, log);
    // The worker's shutdown grace time is 10 s; past it, it only waits for activities that ignore cancellation.
    const proc = startProcess(name, process.execPath, ['--import', 'tsx', script], logFile, {
      env: this.env,
      cwd: repoRoot,
      graceMs: 15_000,
      ...options,
    });
    void proc.exited.then(() => {
      if (this.asked.has(proc)) return;
      const message = `${name} (pid ${proc.pid}) exited by itself; see ${logFile}`;
      this.unexpectedExits.push(message);
      this.options.onUnexpectedExit?.(message);
    });
    return proc;
  }
}

/** The environment of a run's processes: only the holdfast settings given reach them, whatever this shell exports. */
function runEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(configSchema.shape)) if (name !== 'PATH') delete env[name];
  return Object.assign(env, settings);
}
