import { describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../src/api/idempotency';
import { collections, idempotencyRetentionSeconds } from '../src/db';
import { uniqueId, useStockService } from './helpers';

/** Kept answers expire: FerretDB has no TTL index, so the API sweeps what is older than the retention. */
describe('Idempotency-Key answers expire (real FerretDB)', () => {
  const ctx = useStockService();

  it('FerretDB refused the TTL index, and a sweep removes only answers past the retention', async () => {
    const store = new IdempotencyStore(ctx.shards);
    const handler = async () => ({ statusCode: 201, body: { ok: true } });
    const oldKey = uniqueId('old');
    const newKey = uniqueId('new');
    await store.run('items:c1', oldKey, { n: 1 }, handler);
    await store.run('items:c1', newKey, { n: 1 }, handler);
    for (let shard = 0; shard < ctx.shards.size; shard++) {
      const indexes = await ctx.shards.cartsCollection(shard, collections.carts.idempotency).indexes();
      expect(indexes.some((i) => i.expireAfterSeconds !== undefined)).toBe(false);
    }

    // An hour short of the retention: nothing goes. Past it for the first key only: that one goes.
    const oldCreated = Date.now();
    expect(
      await store.sweep(
        idempotencyRetentionSeconds,
        new Date(oldCreated + (idempotencyRetentionSeconds - 3600) * 1000),
      ),
    ).toBe(0);
    const later = new Date(oldCreated + idempotencyRetentionSeconds * 1000 + 60_000);
    const col = (key: string) => {
      const id = `items:c1:${key}`;
      return ctx.shards.cartsCollection<{ _id: string; createdAt: Date }>(
        ctx.shards.shardFor(id),
        collections.carts.idempotency,
      );
    };
    // The newer key's record is moved to just before `later` - retention + 1 min: it stays.
    await col(newKey).updateOne(
      { _id: `items:c1:${newKey}` },
      { $set: { createdAt: new Date(later.getTime() - idempotencyRetentionSeconds * 1000 + 60_000) } },
    );
    expect(await store.sweep(idempotencyRetentionSeconds, later)).toBe(1);
    expect(await col(oldKey).findOne({ _id: `items:c1:${oldKey}` })).toBeNull();
    expect(await col(newKey).findOne({ _id: `items:c1:${newKey}` })).not.toBeNull();

    // Once its answer is gone, the key runs its handler again (the handlers are idempotent by the key).
    let runs = 0;
    const again = await store.run('items:c1', oldKey, { n: 1 }, async () => {
      runs++;
      return { statusCode: 201, body: { ok: true } };
    });
    expect(runs).toBe(1);
    expect(again.replayed).toBe(false);
  });
});
