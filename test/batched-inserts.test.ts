import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchedInserts, collections, type ShardSet } from '../src/db';
import { connectTestShards, uniqueId } from './helpers';

interface Doc {
  readonly _id: string;
  readonly n: number;
}

describe('batched inserts of documents that must exist once (real FerretDB)', () => {
  let shards: ShardSet;
  beforeAll(async () => {
    shards = await connectTestShards();
  });
  afterAll(async () => {
    await shards?.close();
  });

  it('many at once: each inserted once, a twin learns the one that stands, in fewer round trips', async () => {
    const col = shards.cartsDb(0).collection<Doc>(collections.carts.idempotency);
    let roundTrips = 0;
    const counted = new Proxy(col, {
      get(target, prop, receiver) {
        if (prop === 'insertMany') roundTrips++;
        return Reflect.get(target, prop, receiver);
      },
    });
    const batched = new BatchedInserts(counted);
    const ids = Array.from({ length: 40 }, () => uniqueId('rec'));
    // Every id twice: the first of each pair stands, the second is refused and reads it.
    const results = await Promise.all(
      ids.flatMap((_id, i) => [batched.insert({ _id, n: i }), batched.insert({ _id, n: -i })]),
    );
    for (let i = 0; i < ids.length; i++) {
      const [first, twin] = [results[2 * i]!, results[2 * i + 1]!];
      expect(first).toEqual({ inserted: true, stands: { _id: ids[i], n: i } });
      expect(twin).toEqual({ inserted: false, stands: { _id: ids[i], n: i } });
    }
    expect(await col.countDocuments({ _id: { $in: ids } })).toBe(ids.length);
    expect(roundTrips).toBeLessThan(ids.length);
  });
});
