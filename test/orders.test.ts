import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CartStore, OrderStore } from '../src/carts';
import type { Order } from '../src/contract/types';
import { collections, type ShardSet } from '../src/db';
import { connectTestShards, uniqueId } from './helpers';

function order(orderId: string, rev: number, status: Order['status'] = 'pending'): Order {
  return { orderId, cartId: 'c1', status, lines: [], totalCents: 0, rev, updatedAt: new Date(0).toISOString() };
}

describe('orders and carts on FerretDB', () => {
  let shards: ShardSet;
  let orders: OrderStore;

  beforeAll(async () => {
    shards = await connectTestShards();
    orders = new OrderStore(shards);
  });
  afterAll(async () => {
    await shards?.close();
  });

  it('opens an order once: every later or concurrent open answers the order stored first', async () => {
    const orderId = uniqueId('o');
    expect(await orders.has(orderId)).toBe(false);
    const opened = await Promise.all([orders.open(order(orderId, 1)), orders.open(order(orderId, 1))]);
    expect(opened).toEqual([order(orderId, 1), order(orderId, 1)]);
    expect(await orders.save(order(orderId, 3, 'completed'))).toBe(true);
    expect(await orders.open(order(orderId, 1))).toEqual(order(orderId, 3, 'completed'));
    expect(await orders.has(orderId)).toBe(true);
  });

  it('never lets a late save of an older state replace a newer one', async () => {
    const orderId = uniqueId('o');
    expect(await orders.save(order(orderId, 2, 'completed'))).toBe(true);
    expect(await orders.save(order(orderId, 1, 'failed'))).toBe(false);
    expect(await orders.get(orderId)).toEqual(order(orderId, 2, 'completed'));
    expect(await orders.get(uniqueId('o'))).toBeUndefined();
    expect((await orders.all()).find((o) => o.orderId === orderId)).toEqual(order(orderId, 2, 'completed'));
  });

  it('creates carts under new ids', async () => {
    const carts = new CartStore(shards);
    const [a, b] = await Promise.all([carts.create(), carts.create()]);
    expect(a).toMatch(/^c[0-9a-f]{24}$/);
    expect(a).not.toBe(b);
    const stored = await shards
      .cartsDb(shards.shardFor(a))
      .collection(collections.carts.carts)
      .findOne({ _id: a as never });
    expect(stored).toMatchObject({ _id: a });
  });
});
