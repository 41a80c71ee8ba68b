import { spawn } from 'node:child_process';
import net from 'node:net';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePorts, repoRoot } from '../src/infra';
import { uniqueId } from './helpers';

interface Worker {
  readonly output: () => { stdout: string; stderr: string };
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** `npm run worker` in its own process against the test run's Temporal and FerretDB. */
function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      MONGODB_URI: inject('mongoUris').join(','),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => ({ stdout, stderr }),
    exited,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('npm run worker', () => {
  const databases: string[] = [];
  afterAll(async () => {
    for (const uri of inject('mongoUris')) {
      const client = await MongoClient.connect(uri);
      try {
        for (const name of databases) await client.db(name).dropDatabase();
      } finally {
        await client.close();
      }
    }
  });

  function workerEnv(port: number): Record<string, string> {
    const suffix = uniqueId('w').replace('-', '');
    databases.push(`t_stock_${suffix}`, `t_carts_${suffix}`);
    return {
      WORKER_METRICS_PORT: String(port),
      TEMPORAL_TASK_QUEUE: uniqueId('metrics'),
      STOCK_DB: `t_stock_${suffix}`,
      CARTS_DB: `t_carts_${suffix}`,
      LOG_LEVEL: 'info',
    };
  }

  it("serves holdfast's and the Temporal SDK's metrics on WORKER_METRICS_PORT, and logs the SDK through pino", async () => {
    const [port] = await freePorts(1);
    const worker = startWorker(workerEnv(port!));
    try {
      const scrape = async () => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        return response?.ok ? response.text() : '';
      };
      // The SDK's metrics appear once the worker polls.
      await expect.poll(scrape, { timeout: 60_000, interval: 500 }).toMatch(/^temporal_num_pollers\{/m);
      const text = await scrape();
      expect(text).toMatch(/^# TYPE holdfast_holds_total counter$/m);
      expect(text).toMatch(/^temporal_worker_start\{.*\} 1$/m);
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
      expect((await fetch(`http://127.0.0.1:${port}/elsewhere`)).status).toBe(404);

      // The SDK's own log lines are pino JSON lines of the worker (the SDK holds them back ~100 ms to sort them).
      const lines = () =>
        worker
          .output()
          .stdout.split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      await expect.poll(lines, { timeout: 10_000 }).toContainEqual(
        expect.objectContaining({
          name: 'worker',
          component: 'temporal',
          msg: 'Worker state changed',
          state: 'RUNNING',
        }),
      );
    } finally {
      expect(await worker.stop(), worker.output().stderr).toBe(0);
    }
  }, 90_000);

  it('exits 1 naming WORKER_METRICS_PORT when it is taken, before touching the database', async () => {
    const server = net.createServer();
    const [port] = await freePorts(1);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const env = workerEnv(port!);
      const worker = startWorker(env);
      expect(await worker.exited).toBe(1);
      expect(worker.output().stderr).toMatch(
        new RegExp(`^holdfast: port ${port} \\(the worker metrics\\) is already in use by pid ${process.pid} `, 'm'),
      );
      expect(worker.output().stderr).toContain('set WORKER_METRICS_PORT to a free port');
      const client = await MongoClient.connect(inject('mongoUris')[0]!);
      try {
        const { databases: present } = await client.db('admin').admin().listDatabases({ nameOnly: true });
        expect(present.map((d) => d.name)).not.toContain(env.STOCK_DB);
      } finally {
        await client.close();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
