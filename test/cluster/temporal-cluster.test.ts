import { readFile } from 'node:fs/promises';
import { Connection } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import { listeningPorts, numHistoryShards, portHolder, temporalServices } from '../../src/infra';

// Only `npm run test:cluster` includes this folder (vitest.config.ts): on the dev server it could only fail.
describe('the Temporal cluster (npm run test:cluster)', () => {
  it('runs frontend, history, matching and worker as processes of their own, with more than one history shard', async () => {
    const servers = inject('servers');
    const pids = temporalServices.map((service) => {
      const server = servers.find((s) => s.name === `temporal ${service}`);
      expect(server, `a temporal ${service} process`).toBeDefined();
      return server!.pid;
    });
    expect(new Set(pids).size).toBe(temporalServices.length);

    // What the OS says, not only what the setup recorded: the address the tests use belongs to the frontend
    // process, which runs that one service (the dev server's would be `temporal server start-dev`).
    const address = inject('temporalAddress');
    const frontendPid = pids[temporalServices.indexOf('frontend')]!;
    expect(await portHolder(Number(address.split(':').at(-1)))).toMatch(new RegExp(`^pid ${frontendPid} `));
    const commandLine = (await readFile(`/proc/${frontendPid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    expect(commandLine.slice(-3)).toEqual(['start', '--service', 'frontend']);
    // Each service listens on ports of its own (its membership port at least; the worker service serves no gRPC).
    const ports = await Promise.all(pids.map((pid) => listeningPorts(pid)));
    for (const [i, own] of ports.entries()) expect(own.length, temporalServices[i]).toBeGreaterThan(0);
    expect(new Set(ports.flat()).size).toBe(ports.flat().length);

    // The server itself: several history shards, on PostgreSQL (the dev server has 1 shard on SQLite).
    const connection = await Connection.connect({ address });
    try {
      const info = await connection.workflowService.getClusterInfo({});
      expect(info.historyShardCount).toBe(numHistoryShards);
      expect(info.historyShardCount).toBeGreaterThan(1);
      expect(info.persistenceStore).toBe('postgres12');
      expect(info.visibilityStore).toBe('postgres12');
    } finally {
      await connection.close();
    }
  });
});
