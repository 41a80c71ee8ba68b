import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { homePaths, repoRoot } from './paths';
import { run, SetupError, startProcess, waitForPort, which, type ManagedProcess } from './process';

const wrapperDir = path.join(repoRoot, 'tools', 'ferretdb');

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(await readFile(path.join(wrapperDir, file)));
  return hash.digest('hex');
}

/**
 * Builds the FerretDB wrapper (tools/ferretdb) into HOLDFAST_HOME/bin once; rebuilds only when its sources change.
 * Returns the binary's path.
 */
export async function ensureFerretDbBinary(home: string, searchPath: string): Promise<string> {
  const { bin } = homePaths(home);
  const binary = path.join(bin, 'holdfast-ferretdb');
  const stamp = `${binary}.sha256`;
  const wanted = await sourceHash();
  if (existsSync(binary) && existsSync(stamp) && (await readFile(stamp, 'utf8')) === wanted) return binary;

  const go = await which('go', searchPath);
  if (!go) throw new SetupError('holdfast needs Go >= 1.24 to build FerretDB (or set MONGODB_URI to a MongoDB).');
  await mkdir(bin, { recursive: true });
  await run(go, ['build', '-trimpath', '-o', binary, '.'], { cwd: wrapperDir });
  await writeFile(stamp, wanted);
  return binary;
}

export interface ShardOptions {
  readonly binary: string;
  /** One port per shard. */
  readonly ports: readonly number[];
  /** Each shard keeps its SQLite files in dataDir/shard-<n>. */
  readonly dataDir: string;
  readonly logDir: string;
}

/** Starts one FerretDB process per local shard on consecutive ports; returns them with their URIs. */
export async function startFerretDbShards(options: ShardOptions): Promise<{ procs: ManagedProcess[]; uris: string[] }> {
  const procs: ManagedProcess[] = [];
  const uris: string[] = [];
  try {
    for (const [shard, port] of options.ports.entries()) {
      const dir = path.join(options.dataDir, `shard-${shard}`);
      await mkdir(dir, { recursive: true });
      const proc = startProcess(
        `ferretdb shard ${shard}`,
        options.binary,
        ['-listen', `127.0.0.1:${port}`, '-data', dir],
        path.join(options.logDir, `ferretdb-${shard}.log`),
      );
      procs.push(proc);
      await waitForPort(proc, '127.0.0.1', port);
      uris.push(`mongodb://127.0.0.1:${port}/`);
    }
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop()));
    throw err;
  }
  return { procs, uris };
}
