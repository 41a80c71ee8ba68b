import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, SetupError, startProcess, which, type ManagedProcess } from './process';

/** Debian's postgresql-15 package keeps its server binaries off PATH, here. */
const debianBinDir = '/usr/lib/postgresql/15/bin';

/** The superuser initdb creates; Temporal connects as it (loopback only, no password, like the dev server). */
export const postgresUser = 'temporal';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
  readonly pgIsReady: string;
}

/** Finds PostgreSQL's initdb, postgres and pg_isready: Debian's version 15 first, then PATH. */
export async function findPostgresBinaries(searchPath: string): Promise<PostgresBinaries> {
  const find = async (name: string) => {
    const debian = path.join(debianBinDir, name);
    return existsSync(debian) ? debian : await which(name, searchPath);
  };
  const [initdb, postgres, pgIsReady] = await Promise.all([find('initdb'), find('postgres'), find('pg_isready')]);
  if (!initdb || !postgres || !pgIsReady) {
    throw new SetupError(
      'the Temporal cluster needs PostgreSQL 15 (Debian: apt-get install -y postgresql-15), or use the dev server',
    );
  }
  return { initdb, postgres, pgIsReady };
}

/**
 * The OS user the server runs as: this process's own, except root, which PostgreSQL refuses ("root execution of
 * the PostgreSQL server is not permitted"); then the `postgres` user the Debian package creates.
 */
async function serverUser(): Promise<{ name: string; uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8');
  const entry = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry) throw new SetupError('PostgreSQL refuses to run as root and there is no postgres user to run it as');
  return { name: 'postgres', uid: Number(entry[2]), gid: Number(entry[3]) };
}

export interface PostgresOptions {
  readonly binaries: PostgresBinaries;
  readonly port: number;
  /** The cluster's data directory (PGDATA); created with initdb on first start. Its parent must exist. */
  readonly dataDir: string;
  readonly logFile: string;
}

/**
 * Starts a PostgreSQL cluster of holdfast's own on 127.0.0.1:port (TCP only, no Unix socket), creating it first
 * when dataDir is empty, and waits until it accepts connections.
 */
export async function startPostgres(options: PostgresOptions): Promise<ManagedProcess> {
  const user = await serverUser();
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    await mkdir(options.dataDir, { recursive: true });
    if (user) await chown(options.dataDir, user.uid, user.gid);
    await chmod(options.dataDir, 0o700);
    await run(
      options.binaries.initdb,
      ['-D', options.dataDir, '-U', postgresUser, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-instructions'],
      { user: user?.name },
    ).catch((err: unknown) => {
      throw new SetupError(
        `initdb failed${user ? ` (as ${user.name}: every directory above ${options.dataDir} must let it in)` : ''}: ` +
          (err instanceof Error ? err.message : String(err)),
      );
    });
  }
  const proc = startProcess(
    'postgres',
    options.binaries.postgres,
    [
      '-D',
      options.dataDir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      // Four Temporal processes with their connection pools, and the schema tool.
      '-c',
      'max_connections=200',
    ],
    options.logFile,
    // SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave, as SIGTERM's smart one does.
    { user: user?.name, stopSignal: 'SIGINT' },
  );
  try {
    await waitForPostgres(proc, options);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

async function waitForPostgres(proc: ManagedProcess, options: PostgresOptions, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running()) throw new SetupError(`postgres exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
    const ready = await run(options.binaries.pgIsReady, ['-q', '-h', '127.0.0.1', '-p', String(options.port)]).then(
      () => true,
      () => false,
    );
    if (ready) return;
    await sleep(200);
  }
  throw new SetupError(`postgres did not accept connections within ${timeoutMs} ms; see ${proc.logFile}`);
}
