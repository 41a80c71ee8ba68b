import { describe, expect, it } from 'vitest';
import { byIdWithShardKey, scanAllShards, shardedCollections, shardKeyProblem } from '../../src/db';

const cmd = (commandName: string, command: Record<string, unknown>) => ({ commandName, command });

describe('shard keys (the check every integration test runs on its commands)', () => {
  it('lets a read or write through when its filter pins the shard key', () => {
    expect(shardKeyProblem('stock', cmd('find', { find: 'ledger', filter: { bucketId: 'b', _id: 'b#1' } }))).toBe(
      undefined,
    );
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
      /find on stock.ledger without its shard key \(bucketId\): \{"_id":"\?"\}/,
    );
    const upsert = { update: 'cart_lines', updates: [{ q: { _id: 'l' }, u: {}, upsert: true }] };
    expect(shardKeyProblem('carts', cmd('update', upsert))).toMatch(/update on carts.cart_lines/);
    expect(shardKeyProblem('carts', cmd('findAndModify', { findAndModify: 'orders', query: {} }))).toMatch(
      /findAndModify/,
    );
    expect(shardKeyProblem('stock', cmd('insert', { insert: 'ledger', documents: [{ _id: 'x' }] }))).toMatch(
      /insert into stock.ledger/,
    );
    expect(shardKeyProblem('stock', cmd('find', { find: 'ledger', filter: { bucketId: { $gt: 'a' } } }))).toMatch(
      /bucketId/,
    );
  });

  it('lets a deliberate scan of every shard through, but never a write without the key', () => {
    expect(shardKeyProblem('stock', cmd('find', { find: 'ledger', filter: {} }))).toBe(undefined);
    const scan = { find: 'ledger', filter: { kind: 'reserve' }, comment: scanAllShards };
    expect(shardKeyProblem('stock', cmd('find', scan))).toBe(undefined);
    const del = { delete: 'ledger', deletes: [{ q: {} }], comment: scanAllShards };
    expect(shardKeyProblem('stock', cmd('delete', del))).toMatch(/delete on stock.ledger/);
  });

  it("reads a refused insert back by _id with the collection's shard key", () => {
    expect(byIdWithShardKey('ledger', { _id: 'b#1', bucketId: 'b', qty: 1 })).toEqual({ bucketId: 'b', _id: 'b#1' });
    expect(byIdWithShardKey('idempotency_keys', { _id: 'k' })).toEqual({ _id: 'k' });
    expect(shardedCollections.map((c) => `${c.db}.${c.collection}`)).toContain('stock.ledger');
  });
});
