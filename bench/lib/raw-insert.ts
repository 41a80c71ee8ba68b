import { collections, type ShardSet } from '../../src/db';
import { bucketsOf, opKeyOf, zeroBalances, type LedgerEntry } from '../../src/stock';
import type { Attempt, Variant } from './variant';

/** As many as buckets-8 has, so the inserts land on the shards as its entries do. */
const buckets = 8;

/**
 * The store's write limit, which every other variant is a ratio of: each attempt is one plain insert into the
 * ledger collections, of a document shaped like a ledger entry (both unique indexes, `_id` and
 * `{bucketId, opKey}`, apply), over the SKU's 8 buckets in turn. Nothing is read and nothing is compared, and
 * no stock is sold: a sell-out race would mean nothing, so none is run.
 */
export function rawInsert(shards: ShardSet): Variant {
  const attach = (sku: string): Attempt => {
    const refs = bucketsOf(sku, buckets, shards.size);
    const ledgers = refs.map((b) => shards.stockDb(b.shard).collection<LedgerEntry>(collections.stock.ledger));
    let seq = 0;
    return async (key) => {
      const n = seq++;
      const bucket = refs[n % buckets]!;
      const opId = `${sku}-${key}`;
      // `key` is unique within the SKU across processes; a per-process seq is not.
      await ledgers[n % buckets]!.insertOne({
        _id: `${bucket.id}#${key}`,
        slot: bucket.slot,
        bucketId: bucket.id,
        sku,
        seq: n,
        opId,
        opKey: opKeyOf(bucket.id, opId),
        kind: 'reserve',
        qty: 1,
        movement: { kind: 'reserve', qty: 1 },
        balances: { ...zeroBalances, held: 1 },
        at: new Date(),
      });
      return true;
    };
  };
  return {
    name: 'raw-insert',
    sellsStock: false,
    async open(sku) {
      return {
        sku,
        attempt: attach(sku),
        granted: () => Promise.reject(new Error('raw-insert sells no stock: it has no sell-out race')),
        // Nothing reads these documents back.
        async dispose() {},
      };
    },
    attach,
  };
}
