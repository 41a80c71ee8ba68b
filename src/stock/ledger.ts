import type { Collection, Filter } from 'mongodb';
import { collections, insertOnce, lastOfRun, scanAllShards, shardKeyOf, type ShardSet } from '../db';
import { applyMovement, zeroBalances, type Movement, type MovementKind } from './balances';
import type { BatchMember, BucketRef, LedgerEntry } from './types';

export function entryId(bucketId: string, seq: number): string {
  return `${bucketId}#${String(seq).padStart(12, '0')}`;
}

/** How many entries back from the head findOwn looks by `_id` before it queries by opKey. */
const recentProbeLimit = 512;
/** Entries findOwn reads at once. */
const probeBatch = 32;
/** Entries findAfter reads at once (what it looks for is usually among the first few). */
const forwardBatch = 8;

export function opKeyOf(bucketId: string, opId: string): string {
  return `${bucketId}|${opId}`;
}

export type AppendResult =
  | { readonly status: 'appended'; readonly entry: LedgerEntry }
  /** This operation already moved stock in this bucket (a retry, or a concurrent twin): nothing was written. */
  | { readonly status: 'duplicate'; readonly entry: LedgerEntry }
  /** The movement would take a balance below zero at the bucket's current head: nothing was written. */
  | { readonly status: 'insufficient'; readonly head: LedgerEntry }
  /** The bucket has no genesis entry yet (its product is still being created). */
  | { readonly status: 'unopened' };

/**
 * What to append, chosen against the head it would follow (a group commit fits its batch to the balances):
 * undefined when nothing fits there, which is a refusal like a movement that would take a balance below zero.
 */
export type Planner = (head: LedgerEntry) => Planned | undefined;
export interface Planned {
  readonly movement: Movement;
  /** The operations a group commit's entry takes stock for, each with its own quantity. */
  readonly members?: readonly BatchMember[];
}

export interface AppendOptions {
  readonly ref?: string;
  /**
   * When the movement is refused, first look for this operation's own earlier entry (a full scan on FerretDB).
   * Callers that track their retries themselves (reserve) skip it on the hot path.
   */
  readonly findDuplicateWhenRefused?: boolean;
  /** The cached head was just read from the database: a refusal may rest on it without another read. */
  readonly headIsFresh?: boolean;
}

/**
 * The per-bucket append-only ledgers and a per-process cache of each bucket's head.
 *
 * Compare-and-append: a movement is written as entry seq+1 of its bucket by a plain insert. The `_id` unique
 * index makes two writers of the same seq collide, so exactly one wins and the loser re-reads the head and
 * tries again; the `opKey` unique index makes one operation move stock in one bucket at most once. Both are
 * atomic on FerretDB v1 and on a sharded MongoDB (all of a bucket's entries share the shard key: slot, bucketId).
 * No update of a shared document is ever needed, so lost updates cannot happen.
 */
export class BucketLedger {
  private readonly heads = new Map<string, LedgerEntry>();
  private readonly clock: () => Date;

  constructor(
    private readonly shards: ShardSet,
    clock: () => Date = () => new Date(),
    /** The collection its entries live in: the stock ledger, or the per-customer allowances. */
    private readonly collectionName: string = collections.stock.ledger,
  ) {
    this.clock = clock;
    this.slotted = shardKeyOf('stock', collectionName)?.includes('slot') ?? false;
  }

  /** Whether the collection's shard key has the placement slot (the stock ledger; not allowances). */
  private readonly slotted: boolean;

  /** What selects a bucket's entries: its id, and the slot where that is part of the shard key. */
  private where(bucket: BucketRef): { slot?: number; bucketId: string } {
    return this.slotted ? { slot: bucket.slot, bucketId: bucket.id } : { bucketId: bucket.id };
  }

  collection(shard: number): Collection<LedgerEntry> {
    return this.shards.stockCollection<LedgerEntry>(shard, this.collectionName);
  }

  /**
   * Writes the bucket's genesis entry (seq 0, receiving its initial share). Idempotent: a second call with the
   * same opId finds the first.
   */
  async open(bucket: BucketRef, opId: string, qty: number): Promise<LedgerEntry> {
    const entry = this.newEntry(
      bucket,
      0,
      opId,
      { movement: { kind: 'receive', qty } },
      { ...zeroBalances, available: qty, received: qty },
    );
    const { stands } = await insertOnce(this.collection(bucket.shard), entry, 'read');
    if (!stands) throw new Error(`genesis insert refused for ${entry._id} without a visible entry`);
    this.remember(stands);
    return stands;
  }

  /**
   * The bucket's latest entry. From the cache, or — when `fresh` — verified against the database by probing
   * the following seqs by `_id` (galloping, then binary search), so the cost is logarithmic in how far behind
   * this process was. Returns undefined for a bucket without a genesis entry.
   */
  async head(bucket: BucketRef, fresh: boolean): Promise<LedgerEntry | undefined> {
    const cached = this.heads.get(bucket.id);
    if (cached && !fresh) return cached;
    const start = cached ?? (await this.at(bucket, 0));
    if (!start) return undefined;
    const { doc: known } = await lastOfRun({ n: start.seq, doc: start }, (seq) => this.at(bucket, seq));
    this.remember(known);
    return known;
  }

  /**
   * Appends `movement` for `opId` to the bucket, by compare-and-append; see AppendResult. A planner instead of
   * a movement chooses what to append against each head it is tried on.
   */
  async append(
    bucket: BucketRef,
    opId: string,
    plan: Movement | Planner,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const col = this.collection(bucket.shard);
    let head = await this.head(bucket, false);
    let verified = options.headIsFresh ?? false;
    for (;;) {
      if (!head) return { status: 'unopened' };
      const planned = typeof plan === 'function' ? plan(head) : { movement: plan };
      const balances = planned && applyMovement(head.balances, planned.movement);
      if (!planned || !balances) {
        // A refusal must rest on the real head, never on a stale cache.
        if (!verified) {
          head = await this.head(bucket, true);
          verified = true;
          continue;
        }
        if (options.findDuplicateWhenRefused) {
          const own = await this.findOwn(bucket, opId);
          if (own) return { status: 'duplicate', entry: own };
        }
        return { status: 'insufficient', head };
      }
      const entry = this.newEntry(bucket, head.seq + 1, opId, planned, balances, options.ref);
      // Either this insert wins the seq, or another writer took it, or this operation already has an entry here.
      const { inserted, stands: slot } = await insertOnce(col, entry, 'read');
      if (inserted) {
        this.remember(entry);
        return { status: 'appended', entry };
      }
      if (slot?.opId === opId) return { status: 'duplicate', entry: slot };
      if (!slot) {
        // Entries are never deleted, so an empty slot means the opKey index refused the insert.
        const own = await this.findOwn(bucket, opId);
        if (own) return { status: 'duplicate', entry: own };
        throw new Error(`ledger insert refused for ${entry._id} without a visible duplicate`);
      }
      this.remember(slot);
      head = await this.head(bucket, true);
      verified = true;
    }
  }

  /**
   * The entry `opId` appended after `afterSeq`, looked for forwards by `_id` up to the head (a group commit's
   * entry comes soon after the seq its members saw when they claimed it); null when it is not there (yet).
   */
  async findAfter(bucket: BucketRef, opId: string, afterSeq: number): Promise<LedgerEntry | null> {
    for (let lo = afterSeq + 1; ; lo += forwardBatch) {
      const seqs = Array.from({ length: forwardBatch }, (_, i) => lo + i);
      const batch = await Promise.all(seqs.map((seq) => this.at(bucket, seq)));
      for (const e of batch) {
        if (!e) return null; // seqs have no gaps: past the head
        this.remember(e);
        if (e.opId === opId) return e;
      }
    }
  }

  /** The bucket's entry at `seq`, if written. */
  entry(bucket: BucketRef, seq: number): Promise<LedgerEntry | null> {
    return this.at(bucket, seq);
  }

  /** The entry at `seq`, read by `_id` with the shard key (slot, bucketId) beside it (mongos sends it to the bucket's shard). */
  private at(bucket: BucketRef, seq: number): Promise<LedgerEntry | null> {
    return this.collection(bucket.shard).findOne({ ...this.where(bucket), _id: entryId(bucket.id, seq) });
  }

  /** The last head this process saw (no I/O): for choosing buckets, never for deciding. */
  cachedHead(bucket: BucketRef): LedgerEntry | undefined {
    return this.heads.get(bucket.id);
  }

  /**
   * This operation's entry in the bucket, if any (for retries and repairs). Looks back from the head by `_id`,
   * since a retry comes soon after the run it repeats: down to `afterSeq` when the caller knows the operation
   * cannot have appended at or before it, else over the last `recentProbeLimit` entries, and only then asks
   * by opKey (an indexed query on MongoDB, but a scan of the collection on FerretDB, which under load made
   * every retry slower than the one before).
   */
  async findOwn(bucket: BucketRef, opId: string, afterSeq = -1): Promise<LedgerEntry | null> {
    const probed = await this.probeBack(bucket, afterSeq, (e) => e.opId === opId, true);
    if (!probed || probed.found.length > 0 || probed.complete) return probed?.found[0] ?? null;
    return this.collection(bucket.shard).findOne({ ...this.where(bucket), opKey: opKeyOf(bucket.id, opId) });
  }

  /**
   * The bucket's entries after `afterSeq` that `match` accepts, in seq order (a hold's trims and settle, for a
   * re-run of its reservation): looked for like findOwn, by `_id` first, then by `query` (which must find
   * every entry `match` accepts).
   */
  async findMatching(
    bucket: BucketRef,
    afterSeq: number,
    match: (entry: LedgerEntry) => boolean,
    query: Filter<LedgerEntry>,
  ): Promise<LedgerEntry[]> {
    const probed = await this.probeBack(bucket, afterSeq, match, false);
    if (!probed) return [];
    const found = probed.complete
      ? probed.found
      : (
          await this.collection(bucket.shard)
            .find({ ...query, ...this.where(bucket) })
            .toArray()
        ).filter(match);
    return found.filter((e) => e.seq > afterSeq).sort((a, b) => a.seq - b.seq);
  }

  /**
   * Reads entries back from the fresh head by `_id`, down to `afterSeq` or the last `recentProbeLimit`
   * entries, keeping those that match (stopping at the first batch with one when `firstOnly`). `complete`
   * when every entry after `afterSeq` was looked at; undefined for an unopened bucket.
   */
  private async probeBack(
    bucket: BucketRef,
    afterSeq: number,
    match: (entry: LedgerEntry) => boolean,
    firstOnly: boolean,
  ): Promise<{ found: LedgerEntry[]; complete: boolean } | undefined> {
    const head = await this.head(bucket, true);
    if (!head) return undefined;
    const floor = Math.max(afterSeq, head.seq - recentProbeLimit); // exclusive
    const found: LedgerEntry[] = [];
    for (let hi = head.seq; hi > floor; hi -= probeBatch) {
      const seqs = Array.from({ length: Math.min(probeBatch, hi - floor) }, (_, i) => hi - i);
      const batch = await Promise.all(seqs.map((seq) => this.at(bucket, seq)));
      found.push(...batch.filter((e): e is LedgerEntry => e !== null && match(e)));
      if (firstOnly && found.length > 0) return { found, complete: false };
    }
    return { found, complete: floor === afterSeq }; // every entry after afterSeq was looked at
  }

  /**
   * Every entry of every bucket, by bucket id in seq order: one read of each shard's ledger (for the system
   * check). Reading bucket by bucket costs a scan of the shard's whole ledger per bucket on FerretDB, which
   * pushes down no filter but `_id`: with every SKU's buckets read at once, a 30-minute soak's ledger took the
   * reads past the shards' 10 s socket time-out.
   */
  async snapshot(): Promise<Map<string, LedgerEntry[]>> {
    const all = await Promise.all(
      Array.from({ length: this.shards.size }, (_, s) =>
        this.collection(s).find({}, { comment: scanAllShards }).toArray(),
      ),
    );
    const byBucket = new Map<string, LedgerEntry[]>();
    for (const e of all.flat()) {
      const entries = byBucket.get(e.bucketId);
      if (entries) entries.push(e);
      else byBucket.set(e.bucketId, [e]);
    }
    for (const entries of byBucket.values()) entries.sort((a, b) => a.seq - b.seq);
    return byBucket;
  }

  /** Every entry of the bucket in seq order, or only those of some kinds (for replay, checks and repairs). */
  async entries(bucket: BucketRef, kinds?: readonly MovementKind[]): Promise<LedgerEntry[]> {
    const where = this.where(bucket);
    const filter = kinds ? { ...where, kind: { $in: [...kinds] } } : where;
    const all = await this.collection(bucket.shard).find(filter).toArray();
    return all.sort((a, b) => a.seq - b.seq);
  }

  private remember(entry: LedgerEntry) {
    const current = this.heads.get(entry.bucketId);
    if (!current || current.seq < entry.seq) this.heads.set(entry.bucketId, entry);
  }

  private newEntry(
    bucket: BucketRef,
    seq: number,
    opId: string,
    { movement, members }: Planned,
    balances: LedgerEntry['balances'],
    ref?: string,
  ): LedgerEntry {
    return {
      _id: entryId(bucket.id, seq),
      slot: bucket.slot,
      bucketId: bucket.id,
      sku: bucket.sku,
      seq,
      opId,
      opKey: opKeyOf(bucket.id, opId),
      kind: movement.kind,
      qty: movement.qty,
      movement,
      ...(members === undefined ? {} : { members }),
      ...(ref === undefined ? {} : { ref }),
      balances,
      at: this.clock(),
    };
  }
}
