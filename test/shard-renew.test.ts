import { setTimeout as sleep } from 'node:timers/promises';
import { MongoNetworkError, type MongoClient } from 'mongodb';
import { describe, expect, inject, it } from 'vitest';
import { ShardSet, shardTimeouts } from '../src/db';

/** The driver's view of one client's server, reached through its internals: the fault is injected there. */
interface DriverServer {
  description: { address: string; constructor: new (address: string, hello: undefined, o: object) => unknown };
  monitor?: { close(): void };
  emit(event: 'descriptionReceived', description: unknown): void;
}
interface DriverInternals {
  topology?: { s: { servers: Map<string, DriverServer> } };
}

describe('a shard client whose driver stopped checking its server (real FerretDB)', () => {
  it('is renewed while the shard answers pings, and its operations work again without a new process', async () => {
    const renewed: number[] = [];
    const shards = await ShardSet.connect({
      uris: [inject('mongoUris')[0]!],
      stockDb: 'renew',
      cartsDb: 'renew_carts',
      log: { warn: ({ stalledMs }) => renewed.push(stalledMs) },
    });
    try {
      const col = shards.stockCollection<{ _id: string }>(0, 'renew');
      await col.insertOne({ _id: `before-${Date.now()}` });
      // What a chaos run's worker was left with after a shard's restart, for two minutes until it was replaced:
      // the server Unknown (a connection's network error) and the monitor no longer checking it, so nothing
      // marks it known again and every operation is a server-selection time-out.
      const client = (shards as unknown as { clients: MongoClient[] }).clients[0] as unknown as DriverInternals;
      for (const server of client.topology!.s.servers.values()) {
        server.monitor!.close();
        const Description = server.description.constructor;
        server.emit(
          'descriptionReceived',
          new Description(server.description.address, undefined, { error: new MongoNetworkError('injected') }),
        );
      }
      const stalledAt = Date.now();
      await expect(col.insertOne({ _id: `stalled-${Date.now()}` })).rejects.toMatchObject({
        name: 'MongoServerSelectionError',
      });
      expect(shards.reachable(0)).toBe(true);

      let inserted = false;
      while (!inserted && Date.now() - stalledAt < 3 * shardTimeouts.stalledAfterMs) {
        inserted = await col.insertOne({ _id: `after-${Date.now()}` }).then(
          () => true,
          () => false,
        );
        if (!inserted) await sleep(250);
      }
      expect(inserted).toBe(true);
      expect(renewed).toHaveLength(1);
      expect(renewed[0]).toBeGreaterThanOrEqual(shardTimeouts.stalledAfterMs);
    } finally {
      await shards.close();
    }
  }, 90_000);
});
