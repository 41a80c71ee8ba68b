import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dynamicConfigFile } from './dynamic-config';
import { homePaths, versions } from './paths';
import { findPostgresBinaries, postgresUser, startPostgres } from './postgres';
import { freePortsBetween } from './ports';
import { run, SetupError, startProcess, waitForPort, which, type ManagedProcess } from './process';
import { searchAttributes } from './temporal';

const serverModule = 'go.temporal.io/server';

/** The cluster's services, each its own process; history first (see startTemporalService). */
export const temporalServices = ['history', 'matching', 'worker', 'frontend'] as const;
export type TemporalService = (typeof temporalServices)[number];

/** Fixed when the databases are created: Temporal refuses to start on them with another count. */
export const numHistoryShards = 4;

export interface TemporalServerBinaries {
  /** `server` of go.temporal.io/server/cmd/server. */
  readonly server: string;
  /** go.temporal.io/server/cmd/tools/sql. */
  readonly sqlTool: string;
  /** The module's schema/postgresql/v12 (temporal/ and visibility/), copied beside the binaries. */
  readonly postgresSchema: string;
}

/**
 * Builds the Temporal server and its SQL schema tool from the Go module at the pinned version into
 * HOLDFAST_HOME/bin, with the module's PostgreSQL schema beside them; rebuilds only when the pin changes.
 */
export async function ensureTemporalServerBinaries(home: string, searchPath: string): Promise<TemporalServerBinaries> {
  const { bin } = homePaths(home);
  const binaries = {
    server: path.join(bin, 'temporal-server'),
    sqlTool: path.join(bin, 'temporal-sql-tool'),
    postgresSchema: path.join(bin, 'temporal-server-schema', 'postgresql', 'v12'),
  };
  const stamp = path.join(bin, 'temporal-server.version');
  const wanted = versions.temporalServer;
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === wanted && Object.values(binaries).every(existsSync)) {
    return binaries;
  }

  const go = await which('go', searchPath);
  if (!go) throw new SetupError('holdfast needs Go >= 1.24 to build the Temporal server (or use the dev server).');
  const buildDir = path.resolve(home, 'build', 'temporal-server');
  await rm(buildDir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });
  await mkdir(bin, { recursive: true });
  const env = { ...process.env, GOBIN: buildDir };
  const packages = [`${serverModule}/cmd/server@${wanted}`, `${serverModule}/cmd/tools/sql@${wanted}`];
  await run(go, ['install', '-trimpath', ...packages], { cwd: buildDir, env });
  await rename(path.join(buildDir, 'server'), binaries.server);
  await rename(path.join(buildDir, 'sql'), binaries.sqlTool);
  // `go install` left the module in the module cache; its schema files are what the SQL tool applies.
  const download = await run(go, ['mod', 'download', '-json', `${serverModule}@${wanted}`], { cwd: buildDir, env });
  const moduleDir = (JSON.parse(download) as { Dir: string }).Dir;
  await rm(path.dirname(path.dirname(binaries.postgresSchema)), { recursive: true, force: true });
  await cp(path.join(moduleDir, 'schema', 'postgresql', 'v12'), binaries.postgresSchema, { recursive: true });
  // The module cache's files are read-only; the copy must stay removable by its owner.
  for (const entry of await readdir(binaries.postgresSchema, { recursive: true, withFileTypes: true })) {
    await chmod(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
  await chmod(binaries.postgresSchema, 0o755);
  await rm(buildDir, { recursive: true, force: true });
  await writeFile(stamp, wanted);
  return binaries;
}

/** Where the cluster keeps its state, under the stack's data directory. */
export function temporalClusterPaths(dir: string) {
  return {
    dir,
    /** PGDATA: the `temporal` and `temporal_visibility` databases. */
    postgres: path.join(dir, 'postgres'),
    /** The servers' config directory (`--config`), written at every start: its ports change. */
    config: path.join(dir, 'config'),
    /** Written once both databases have their schema: later starts only update it. */
    schemaStamp: path.join(dir, 'schema-created'),
  };
}

export interface ClusterPorts {
  readonly postgres: number;
  /** Each service's gRPC and membership (ringpop) ports; the frontend's gRPC port is the cluster's address. */
  readonly services: Record<TemporalService, { readonly grpc: number; readonly membership: number }>;
  readonly frontendHttp: number;
}

/**
 * Free ports for everything but the frontend's gRPC port, which is the cluster's address (TEMPORAL_PORT). Below
 * 32768, the OS's ephemeral range here: Temporal's SQL membership table keeps a membership port as a SMALLINT.
 */
export async function pickClusterPorts(frontendPort: number): Promise<ClusterPorts> {
  const [postgres, frontendHttp, ...spare] = (await freePortsBetween(
    1 + 2 * temporalServices.length,
    20000,
    32767,
  )) as [number, number, ...number[]];
  const next = () => spare.shift()!;
  const services = Object.fromEntries(
    temporalServices.map((s) => [s, { grpc: s === 'frontend' ? frontendPort : next(), membership: next() }]),
  ) as ClusterPorts['services'];
  return { postgres, frontendHttp, services };
}

const databases = { default: 'temporal', visibility: 'temporal_visibility' } as const;

/** The servers' static config (Temporal's `config.Config`; JSON is YAML), as `--env holdfast` reads it. */
export function clusterServerConfig(ports: ClusterPorts, logLevel = 'warn'): object {
  const host = '127.0.0.1';
  const sql = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${host}:${ports.postgres}`,
      connectProtocol: 'tcp',
      user: postgresUser,
      password: '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const frontend = `${host}:${ports.services.frontend.grpc}`;
  return {
    log: { stdout: true, level: logLevel, format: 'json' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards,
      datastores: { default: sql(databases.default, 10), visibility: sql(databases.visibility, 4) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: host } },
    services: Object.fromEntries(
      temporalServices.map((service) => [
        service,
        {
          rpc: {
            grpcPort: ports.services[service].grpc,
            membershipPort: ports.services[service].membership,
            bindOnIP: host,
            ...(service === 'frontend' ? { httpPort: ports.frontendHttp } : {}),
          },
        },
      ]),
    ),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: frontend,
          httpAddress: `${host}:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    // The worker service reaches the frontend here (its system workflows).
    publicClient: { hostPort: frontend },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Writes the config for `--config <dir> --env holdfast`. */
export async function writeClusterConfig(configDir: string, ports: ClusterPorts): Promise<void> {
  await mkdir(configDir, { recursive: true });
  await writeFile(path.join(configDir, 'holdfast.yaml'), `${JSON.stringify(clusterServerConfig(ports), null, 2)}\n`);
}

/**
 * Creates the two databases and their schema on first start (setup-schema 0.0, then the versioned updates),
 * and on later starts applies only updates a newer pinned server brings. Idempotent once the stamp is written.
 */
export async function ensureClusterSchema(binaries: TemporalServerBinaries, dir: string, pgPort: number) {
  const { schemaStamp } = temporalClusterPaths(dir);
  const created = existsSync(schemaStamp);
  const connection = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pgPort), '-u', postgresUser];
  for (const [kind, database] of Object.entries(databases)) {
    const sql = (...args: string[]) => run(binaries.sqlTool, [...connection, '--db', database, ...args]);
    if (!created) {
      // A first start that failed after creating it leaves it: start that database over.
      await sql('drop-database', '--force').catch(() => undefined);
      await sql('create-database');
      await sql('setup-schema', '-v', '0.0');
    }
    const schemaDir = path.join(binaries.postgresSchema, kind === 'default' ? 'temporal' : 'visibility', 'versioned');
    await sql('update-schema', '-d', schemaDir);
  }
  if (!created) await writeFile(schemaStamp, `${versions.temporalServer}\n`);
}

export interface TemporalServiceOptions {
  readonly server: string;
  readonly configDir: string;
  readonly ports: ClusterPorts;
  readonly logDir: string;
}

/**
 * Starts one service of the cluster as its own process and waits until it listens. The first one started on
 * new databases writes the cluster's metadata; started together, all but one fail to: start history alone first.
 */
export async function startTemporalService(
  options: TemporalServiceOptions,
  service: TemporalService,
): Promise<ManagedProcess> {
  const proc = startProcess(
    `temporal ${service}`,
    options.server,
    // The server joins --root and --config ("." by default) into the config directory.
    [
      '--root',
      options.configDir,
      '--config',
      '.',
      '--env',
      'holdfast',
      '--allow-no-auth',
      'start',
      '--service',
      service,
    ],
    path.join(options.logDir, `temporal-${service}.log`),
  );
  try {
    // The worker service serves no gRPC (it runs Temporal's system workflows): it listens only for membership.
    const { grpc, membership } = options.ports.services[service];
    await waitForPort(proc, '127.0.0.1', service === 'worker' ? membership : grpc, 120_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/**
 * Registers the namespace (1 day's retention, like the dev server's) and holdfast's search attributes unless they
 * are there, retrying while the services are still finding each other, and waits until the frontend answers
 * with them.
 */
export async function registerClusterNamespace(cli: string, address: string, namespace: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  const temporal = (...args: string[]) => run(cli, [...args, '--address', address, '--namespace', namespace]);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const described = await temporal('operator', 'namespace', 'describe', '-o', 'json').catch(() => undefined);
      if (described === undefined) await temporal('operator', 'namespace', 'create', '--retention', '24h');
      const listed = JSON.parse(await temporal('operator', 'search-attribute', 'list', '-o', 'json')) as unknown;
      const missing = searchAttributes.filter((name) => !JSON.stringify(listed).includes(`"${name}"`));
      if (missing.length === 0) return;
      const names = missing.flatMap((name) => ['--name', name]);
      await temporal('operator', 'search-attribute', 'create', ...names, '--type', 'Keyword');
    } catch (err) {
      last = err;
      await sleep(1000);
    }
  }
  throw new SetupError(
    `the Temporal cluster at ${address} did not register namespace ${namespace} within ${timeoutMs / 1000} s: ` +
      (last instanceof Error ? last.message : String(last)),
  );
}

export interface TemporalClusterOptions {
  readonly home: string;
  readonly searchPath: string;
  /** The Temporal CLI, which registers the namespace and the search attributes. */
  readonly cli: string;
  /** The frontend's gRPC port: the cluster's address. */
  readonly frontendPort: number;
  readonly namespace: string;
  /** The cluster's state (see temporalClusterPaths). */
  readonly dir: string;
  readonly logDir: string;
}

/**
 * Brings up PostgreSQL and the four services, each handed to `serve` (startStack's) with the way to start it again
 * and its stop tier, and registers the namespace. Returns the frontend's address.
 */
export async function startTemporalCluster(
  options: TemporalClusterOptions,
  serve: (start: () => Promise<ManagedProcess>, tier: number) => Promise<unknown>,
): Promise<string> {
  const paths = temporalClusterPaths(options.dir);
  const postgresBinaries = await findPostgresBinaries(options.searchPath);
  const binaries = await ensureTemporalServerBinaries(options.home, options.searchPath);
  const ports = await pickClusterPorts(options.frontendPort);
  const postgres = {
    binaries: postgresBinaries,
    port: ports.postgres,
    dataDir: paths.postgres,
    logFile: path.join(options.logDir, 'postgres.log'),
  };
  await serve(() => startPostgres(postgres), 0);
  await ensureClusterSchema(binaries, paths.dir, ports.postgres);
  await writeClusterConfig(paths.config, ports);
  const service = { server: binaries.server, configDir: paths.config, ports, logDir: options.logDir };
  // Stopped before PostgreSQL; the worker service, a client of the frontend (its system workflows), before them.
  const tier = (name: TemporalService) => (name === 'worker' ? 2 : 1);
  const [first, ...rest] = temporalServices;
  await serve(() => startTemporalService(service, first), tier(first));
  await Promise.all(rest.map((name) => serve(() => startTemporalService(service, name), tier(name))));
  const address = `127.0.0.1:${options.frontendPort}`;
  await registerClusterNamespace(options.cli, address, options.namespace);
  return address;
}
