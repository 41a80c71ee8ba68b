import { describe, expect, it } from 'vitest';
import { collections } from '../src/db';
import { useStockService } from './helpers';

/**
 * FerretDB as holdfast builds it (tools/ferretdb/patches): lookups by `_id` use the _id index, also when the
 * filter carries the shard key beside `_id` (as every holdfast read of a sharded collection does, for mongos).
 * Upstream scanned the whole table for such a filter: every ledger probe would read every entry.
 */
describe('FerretDB patches (real FerretDB)', () => {
  const ctx = useStockService();

  async function explain(filter: object) {
    const db = ctx.shards.stockDb(0);
    const answer = await db.command({ explain: { find: collections.stock.ledger, filter } });
    return answer as { filterPushdown: boolean; queryPlanner: { Plan: string[] } };
  }

  it('an _id equality is looked up by index, with or without the shard key beside it', async () => {
    for (const filter of [{ _id: 'b#0' }, { bucketId: 'b', _id: 'b#0' }]) {
      const { filterPushdown, queryPlanner } = await explain(filter);
      expect(filterPushdown, JSON.stringify(filter)).toBe(true);
      expect(queryPlanner.Plan.join('\n')).toMatch(/SEARCH .* USING INDEX .*__id_/);
    }
  });

  it('a filter without an _id equality is not narrowed (the rows are filtered in Go)', async () => {
    const { filterPushdown, queryPlanner } = await explain({ bucketId: 'b' });
    expect(filterPushdown).toBe(false);
    expect(queryPlanner.Plan.join('\n')).toMatch(/SCAN/);
  });
});
