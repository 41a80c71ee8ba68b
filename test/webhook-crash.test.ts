import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { publishEvent } from '../src/activities/event-activities';
import type { DomainEvent } from '../src/contract/events';
import type { ShardSet } from '../src/db';
import { WebhookDeliveryStore, WebhookEndpointStore } from '../src/events';
import { activityDeps } from '../src/worker';
import { connectTestShards, uniqueId } from './helpers';
import { startWorkerProcess } from './workflow-helpers';

/**
 * A worker SIGKILLed while it delivers webhooks: Temporal retries the deliveries it had in flight on the next
 * worker, so no event is lost; an event it had sent but not yet recorded may arrive twice, which the receiver
 * drops by its id; and each aggregate's events still arrive in the order they happened.
 */
describe('webhook deliveries across a killed worker', () => {
  let shards: ShardSet;
  let connection: Connection;
  let client: Client;
  let receiver: Server;
  let url: string;
  /** Event ids in the order requests arrived (repeats included). */
  const arrivals: DomainEvent[] = [];

  beforeAll(async () => {
    shards = await connectTestShards();
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection });
    // Slow enough that deliveries are in flight when the worker dies.
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        arrivals.push(JSON.parse(body) as DomainEvent);
        setTimeout(() => res.writeHead(204).end(), 150);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await connection?.close();
    await shards?.close();
  });

  it('loses no event, duplicates only by id, and keeps each aggregate in order', async () => {
    const taskQueue = uniqueId('webhook-kill');
    const startWorker = () => startWorkerProcess(shards, taskQueue);

    const endpointId = uniqueId('wh');
    await new WebhookEndpointStore(shards).create({
      id: endpointId,
      url,
      events: ['*'],
      secret: 'whsec_test-secret-for-the-crash',
      maxAgeSeconds: 600,
      createdAt: new Date().toISOString(),
    });
    const deps = activityDeps(shards, client, taskQueue);
    let worker = await startWorker();
    const orders = ['a', 'b', 'c'].map((x) => uniqueId(`order-${x}`));
    const published: DomainEvent[] = [];
    try {
      // Ten events per order, each order's in sequence (as its saga's steps record them), the orders side by side.
      await Promise.all(
        orders.map(async (orderId) => {
          for (let i = 0; i < 10; i++) {
            published.push(
              await publishEvent(deps, {
                type: 'order.completed',
                key: `${orderId}:${i}`,
                aggregate: { kind: 'order', id: orderId },
                data: { orderId, step: i },
              }),
            );
          }
        }),
      );
      await expect.poll(() => arrivals.length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(6);
      worker.kill('SIGKILL');
      await new Promise((resolve) => worker.once('exit', resolve));
      const atKill = arrivals.length;
      worker = await startWorker();

      const ids = new Set(published.map((e) => e.id));
      await expect
        .poll(() => new Set(arrivals.map((e) => e.id)).size, { timeout: 90_000, interval: 200 })
        .toBe(ids.size);
      expect(atKill).toBeLessThan(ids.size); // the kill came while deliveries were still to do
      // Nothing arrived that was not published, and nothing published is missing.
      expect(new Set(arrivals.map((e) => e.id))).toEqual(ids);
      const repeats = arrivals.length - ids.size;
      expect(repeats).toBeLessThanOrEqual(orders.length); // at most the one in flight per order
      // Per order, first arrivals are in the order the events were published.
      for (const orderId of orders) {
        const firsts = [...new Set(arrivals.filter((e) => e.aggregate.id === orderId).map((e) => e.id))];
        expect(firsts).toEqual(published.filter((e) => e.aggregate.id === orderId).map((e) => e.id));
      }
      const deliveries = new WebhookDeliveryStore(shards);
      await expect
        .poll(
          async () =>
            (await Promise.all(published.map((e) => deliveries.get(endpointId, e.id)))).every(
              (d) => d?.status === 'delivered',
            ),
          { timeout: 30_000 },
        )
        .toBe(true);
    } finally {
      worker.kill('SIGKILL');
      await deps.stock.close();
    }
  }, 180_000);
});
