import { describe, expect, it } from 'vitest';
import { byIdWithShardKey, ledgerSlots, scanAllShards, shardedCollections, shardKeyProblem } from '../../src/db';
import { bucketsOf } from '../../src/stock/placement';

const cmd = (commandName: string, command: Record<string, unknown>) => ({ commandName, command });

describe('shard keys (the check every integration test runs on its commands)', () => {
  it('lets a read or write through when its filter pins the shard key', () => {
    expect(
      shardKeyProblem('stock', cmd('find', { find: 'ledger', filter: { slot: 3, bucketId: 'b', _id: 'b#1' } })),
    ).toBe(undefined);
    expect(shardKeyProblem('carts', cmd('find', { find: 'orders', filter: { _id: { $in: ['a', 'b'] } } }))).toBe(
      undefined,
    );
    const upsert = { update: 'cart_lines', updates: [{ q: { _id: 'l', cartId: 'c', rev: { $lte: 2 } }, u: {} }] };
    expect(shardKeyProblem('carts', cmd('update', upsert))).toBe(undefined);
    // Unsharded collections and other databases are not checked.
    expect(shardKeyProblem('carts', cmd('find', { find: 'idempotency_keys', filter: { x: 1 } }))).toBe(undefined);
  });

  it('names a filter or document without the shard key', () => {
    expect(shardKeyProblem('stock', cmd('find', { find: 'ledger', filter: { _id: 'b#1' } }))).toMatch(
      /find on stock.ledger without its shard key \(slot, bucketId\): \{"_id":"\?"\}/,
    );
    const upsert = { update: 'cart_lines', updates: [{ q: { _id: 'l' }, u: {}, upsert: true }] };
    expect(shardKeyProblem('carts', cmd('update', upsert))).toMatch(/update on carts.cart_lines/);
    expect(shardKeyProblem('carts', cmd('findAndModify', { findAndModify: 'orders', query: {} }))).toMatch(
      /findAndModify/,
    );
    expect(shardKeyProblem('stock', cmd('insert', { insert: 'ledger', documents: [{ _id: 'x' }] }))).toMatch(
      /insert into stock.ledger/,
    );
    expect(
      shardKeyProblem('stock', cmd('find', { find: 'ledger', filter: { slot: 1, bucketId: { $gt: 'a' } } })),
    ).toMatch(/\(bucketId\)/);
    expect(shardKeyProblem('stock', cmd('find', { find: 'ledger', filter: { bucketId: 'b' } }))).toMatch(/\(slot\)/);
  });

  it('lets a deliberate scan of every shard through, but never a write without the key', () => {
    expect(shardKeyProblem('stock', cmd('find', { find: 'ledger', filter: {} }))).toBe(undefined);
    const scan = { find: 'ledger', filter: { kind: 'reserve' }, comment: scanAllShards };
    expect(shardKeyProblem('stock', cmd('find', scan))).toBe(undefined);
    const del = { delete: 'ledger', deletes: [{ q: {} }], comment: scanAllShards };
    expect(shardKeyProblem('stock', cmd('delete', del))).toMatch(/delete on stock.ledger/);
  });

  it("reads a refused insert back by _id with the collection's shard key", () => {
    expect(byIdWithShardKey('ledger', { _id: 'b#1', slot: 5, bucketId: 'b', qty: 1 })).toEqual({
      slot: 5,
      bucketId: 'b',
      _id: 'b#1',
    });
    expect(byIdWithShardKey('idempotency_keys', { _id: 'k' })).toEqual({ _id: 'k' });
    expect(shardedCollections.map((c) => `${c.db}.${c.collection}`)).toContain('stock.ledger');
  });

  it("puts a SKU's buckets in different placement slots, which the zones spread over every shard", () => {
    expect(ledgerSlots).toBe(16);
    for (const sku of ['hot-sneaker', 'a', 'demo-drop-sneaker', 'x'.repeat(64)]) {
      const buckets = bucketsOf(sku, 8, 1);
      const slots = buckets.map((b) => b.slot);
      // Each bucket's slot is fixed by the SKU and index alone (not by how many FerretDB shards there are).
      expect(bucketsOf(sku, 8, 3).map((b) => b.slot)).toEqual(slots);
      expect(new Set(slots).size).toBe(8);
      // init-cluster.js zones slot s on shard s mod n: with two or four shards, a SKU of as many buckets or more
      // is on every one of them.
      for (const n of [2, 4]) expect(new Set(slots.map((s) => s % n)).size).toBe(n);
    }
    // A SKU with more buckets than slots wraps around and still uses them all.
    expect(new Set(bucketsOf('big', 64, 1).map((b) => b.slot)).size).toBe(ledgerSlots);
  });
});
