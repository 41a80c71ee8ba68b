import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/config';
import { ensureTemporalBinaries, freePorts, startStack } from '../src/infra';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    mongoUris: string[];
    testServerPath: string;
    /** What HOLDFAST_TEMPORAL asked for: `cluster` under `npm run test:cluster`. */
    temporalServer: 'dev' | 'cluster';
    /** The servers this run started, by name (`temporal frontend`, `postgres`, ...), with their process ids. */
    servers: { name: string; pid: number }[];
  }
}

/**
 * Starts the real servers once for the whole test run, on ports apart from `npm start`'s so both can run,
 * with throwaway data: the Temporal dev server, or with HOLDFAST_TEMPORAL=cluster (`npm run test:cluster`) the
 * multi-service cluster on PostgreSQL. TEMPORAL_ADDRESS / MONGODB_URI point the tests at external servers instead.
 */
export default async function setup(project: TestProject) {
  // Free ports: test runs may go on side by side, and beside `npm start`.
  const [temporalPort, ...ferretDbPorts] = await freePorts(3);
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', TEMPORAL_PORT: String(temporalPort) });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'holdfast-test-'));
  // mkdtemp's 0700 would keep out PostgreSQL's own user (it refuses to run as root).
  if (config.HOLDFAST_TEMPORAL === 'cluster') await chmod(dataDir, 0o711);
  const [stack, binaries] = await Promise.all([
    startStack(config, { dataDir, logDir: path.join(dataDir, 'logs'), ui: false, ferretDbPorts }),
    ensureTemporalBinaries(config.home, config.PATH),
  ]);
  project.provide('temporalAddress', stack.temporalAddress);
  project.provide('mongoUris', [...stack.mongoUris]);
  project.provide('testServerPath', binaries.testServer);
  project.provide('temporalServer', config.HOLDFAST_TEMPORAL);
  project.provide(
    'servers',
    stack.servers().map(({ name, pid }) => ({ name, pid })),
  );

  return async () => {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
