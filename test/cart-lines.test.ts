import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CartLineStore } from '../src/carts';
import type { CartLine } from '../src/contract/types';
import type { ShardSet } from '../src/db';
import { connectTestShards, uniqueId } from './helpers';

function line(cartId: string, n: number, status: CartLine['status'] = 'pending'): CartLine {
  return {
    holdId: `${cartId}.line${n}`,
    cartId,
    sku: 'sku-1',
    quantity: 1,
    status,
    holds: [],
    rev: 1,
    updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  };
}

describe('cart lines on FerretDB', () => {
  let shards: ShardSet;
  let store: CartLineStore;

  beforeAll(async () => {
    shards = await connectTestShards();
    store = new CartLineStore(shards);
  });
  afterAll(async () => {
    await shards?.close();
  });

  it('lists every line of a cart once, however many of its lines and their twins save at once', async () => {
    const cartId = uniqueId('cart');
    const other = uniqueId('cart');
    const lines = Array.from({ length: 12 }, (_, n) => line(cartId, n));
    // Each line saved twice concurrently (a retried activity racing its first run), all lines at once.
    await Promise.all([...lines, ...lines, line(other, 0)].map((l) => new CartLineStore(shards).save(l)));
    const listed = await store.list(cartId);
    expect(listed.map((l) => l.holdId).sort()).toEqual(lines.map((l) => l.holdId).sort());

    // Saving again (a status change) updates the line in place and lists it once.
    await store.save({ ...lines[3]!, status: 'removed', rev: 2 });
    const after = await store.list(cartId);
    expect(after).toHaveLength(12);
    expect(after.find((l) => l.holdId === lines[3]!.holdId)?.status).toBe('removed');
    expect(await store.list(other)).toHaveLength(1);
    expect(await store.list(uniqueId('empty'))).toEqual([]);
    const all = await store.all();
    expect(all.filter((l) => l.cartId === cartId)).toHaveLength(12);
    expect(all.every((l) => !('_id' in l))).toBe(true);
  });

  it('never lets a late write of an older state replace a newer one', async () => {
    const cartId = uniqueId('cart');
    const first = line(cartId, 0);
    await store.save(first);
    await store.save({ ...first, status: 'purchased', orderId: 'o1', rev: 3 });
    // A save of rev 2 that timed out and lands now (Temporal retried it meanwhile) changes nothing.
    await store.save({ ...first, status: 'expired', rev: 2 });
    expect(await store.get(cartId, first.holdId)).toMatchObject({ status: 'purchased', orderId: 'o1', rev: 3 });
    await store.save({ ...first, status: 'purchased', orderId: 'o1', quantity: 1, rev: 4 });
    expect((await store.get(cartId, first.holdId))?.rev).toBe(4);
  });
});
