import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { homePaths, repoRoot } from './paths';
import { run, SetupError, startProcess, waitForPort, which, type ManagedProcess } from './process';

const wrapperDir = path.join(repoRoot, 'tools', 'ferretdb');
/** The wrapper module's own files (tools/ferretdb). */
const wrapperFiles = ['go.mod', 'go.sum', 'main.go'];

/**
 * Files of the FerretDB module replaced at build time (in a vendored copy), by path inside the module. The
 * patches make lookups by _id use the _id index, also when the filter has more fields than `_id` (see each
 * file's "holdfast patch" comment).
 */
const patches: Record<string, string> = {
  'internal/backends/sqlite/metadata/metadata.go': path.join(wrapperDir, 'patches', 'metadata.go'),
  'internal/backends/sqlite/collection.go': path.join(wrapperDir, 'patches', 'collection.go'),
};

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of wrapperFiles) hash.update(await readFile(path.join(wrapperDir, file)));
  for (const file of Object.values(patches)) hash.update(await readFile(file));
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
  // Build from a copy with the dependencies vendored, so the patched files can replace FerretDB's own (the
  // module cache is read-only, and `go build -overlay` refuses files in it).
  const buildDir = path.resolve(home, 'build', 'ferretdb');
  await rm(buildDir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });
  for (const file of wrapperFiles) await copyFile(path.join(wrapperDir, file), path.join(buildDir, file));
  await run(go, ['mod', 'vendor'], { cwd: buildDir });
  for (const [file, patch] of Object.entries(patches)) {
    await copyFile(patch, path.join(buildDir, 'vendor', 'github.com', 'FerretDB', 'FerretDB', file));
  }
  await run(go, ['build', '-mod=vendor', '-trimpath', '-o', path.resolve(binary), '.'], { cwd: buildDir });
  await rm(buildDir, { recursive: true, force: true });
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
  try {
    for (const shard of options.ports.keys()) procs.push(await startFerretDbShard(options, shard));
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop()));
    throw err;
  }
  return { procs, uris: options.ports.map((port) => `mongodb://127.0.0.1:${port}/`) };
}

/** Starts shard `shard` of `options` alone (again, after a stop: same port, same data) and waits for its port. */
export async function startFerretDbShard(options: ShardOptions, shard: number): Promise<ManagedProcess> {
  const port = options.ports[shard]!;
  const dir = path.join(options.dataDir, `shard-${shard}`);
  await mkdir(dir, { recursive: true });
  const proc = startProcess(
    `ferretdb shard ${shard}`,
    options.binary,
    ['-listen', `127.0.0.1:${port}`, '-data', dir],
    path.join(options.logDir, `ferretdb-${shard}.log`),
  );
  try {
    await waitForPort(proc, '127.0.0.1', port);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}
