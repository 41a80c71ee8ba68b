import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { freePorts, repoRoot } from '../src/infra';
import { uniqueId } from './helpers';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm start` as a newcomer runs it, in its own process, with only this environment. */
function start(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts'],
      { cwd: repoRoot, env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const portOf = (uri: string) => Number(new URL(uri).port);

describe('npm start refuses ports that are taken', () => {
  let home: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'holdfast-ports-'));
    const [temporal, ui, api, ferret] = await freePorts(4);
    env = {
      HOLDFAST_HOME: home,
      TEMPORAL_PORT: String(temporal),
      TEMPORAL_UI_PORT: String(ui),
      API_PORT: String(api),
      FERRETDB_BASE_PORT: String(ferret),
      FERRETDB_SHARDS: '1',
      STOCK_DB: `t_stock_${uniqueId('p').replace('-', '')}`,
      CARTS_DB: `t_carts_${uniqueId('p').replace('-', '')}`,
      TEMPORAL_TASK_QUEUE: uniqueId('ports'),
    };
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  /** Nothing was installed, started or written under HOLDFAST_HOME but the development secrets. */
  async function expectNothingWritten() {
    expect(existsSync(path.join(home, 'data'))).toBe(false);
    expect(await readdir(home)).toEqual(['secrets.json']);
  }

  it.each(['TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'API_PORT', 'FERRETDB_BASE_PORT'])(
    'exits 1 naming the port, its holder and %s when another process listens there',
    async (envVar) => {
      const port = Number(env[envVar]);
      const server = await occupy(port);
      try {
        const run = await start(env);
        expect(run.code, run.stderr).toBe(1);
        const line = run.stderr.split('\n').find((l) => l.includes(`port ${port} `));
        // Its own line: the first one says `holdfast: `; another test's server may have taken one of the other
        // free ports picked here meanwhile, and is then named on a line of its own.
        expect(line, run.stderr).toMatch(new RegExp(`^(holdfast: )?port ${port} \\(.+\\) is already in use by pid `));
        expect(run.stderr).toMatch(/^holdfast: port \d+ /);
        expect(line).toContain(`pid ${process.pid} `);
        expect(line).toContain(`set ${envVar} to a free port`);
        await expectNothingWritten();
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );

  it('does not adopt a running FerretDB and Temporal: no schema in that database, no worker on that Temporal', async () => {
    const [shard] = inject('mongoUris');
    const temporalPort = Number(inject('temporalAddress').split(':').at(-1));
    const run = await start({
      ...env,
      FERRETDB_BASE_PORT: String(portOf(shard!)),
      TEMPORAL_PORT: String(temporalPort),
    });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `port ${portOf(shard!)} \\(FerretDB shard 0\\) is already in use by pid \\d+ \\(\\S*holdfast-ferretdb`,
      ),
    );
    expect(run.stderr).toContain('set FERRETDB_BASE_PORT to a free port');
    expect(run.stderr).toMatch(new RegExp(`port ${temporalPort} \\(Temporal dev server\\) is already in use`));
    expect(run.stderr).toContain('set TEMPORAL_PORT to a free port');
    // One line per port, no stack trace.
    expect(run.stderr.trim().split('\n')).toHaveLength(2);

    const client = await MongoClient.connect(shard!);
    try {
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      expect(databases.map((d) => d.name)).not.toContain(env.STOCK_DB);
      expect(databases.map((d) => d.name)).not.toContain(env.CARTS_DB);
    } finally {
      await client.close();
    }
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const queue = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: env.TEMPORAL_TASK_QUEUE },
      });
      expect(queue.pollers).toEqual([]);
    } finally {
      await connection.close();
    }
    await expectNothingWritten();
  });
});
