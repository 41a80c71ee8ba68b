import { collections, scanAllShards } from '../db';
import type { ShardSet } from '../db';
import {
  addBalances,
  applyMovement,
  sameBalances,
  unitsAccountedFor,
  unitsInStates,
  zeroBalances,
  type Balances,
} from './balances';
import { settleOpId, trimOpId } from './op-keys';
import type { StockService } from './stock-service';
import type { BucketRef, LedgerEntry, TakeClaimDoc } from './types';

export interface InvariantReport {
  readonly sku: string;
  readonly ok: boolean;
  readonly violations: string[];
  /** Balances rebuilt by replaying every bucket's ledger from its genesis. */
  readonly totals: Balances;
  /** Units sent by a transfer_out whose transfer_in is not written yet (a violation unless `inFlight`). */
  readonly inTransit: number;
  /** Holds neither released nor committed. */
  readonly openHolds: number;
  /** Attempts whose batch is neither written nor voided (in flight, or its writer died): they took nothing. */
  readonly unrecorded: number;
  readonly entries: number;
}

/** The whole stock ledger and the take claims as read once for many SKUs (the system check). */
export interface LedgerSnapshot {
  /** Every bucket's entries in seq order, by bucket id (BucketLedger.snapshot). */
  readonly ledgers: ReadonlyMap<string, readonly LedgerEntry[]>;
  /** Every attempt's claim, by SKU, read after the ledgers. */
  readonly claims: ReadonlyMap<string, readonly TakeClaimDoc[]>;
}

/** Reads the ledgers, then the claims, of every shard once. */
export async function readLedgerSnapshot(stock: StockService, shards: ShardSet): Promise<LedgerSnapshot> {
  const ledgers = await stock.ledger.snapshot();
  const claims = new Map<string, TakeClaimDoc[]>();
  const all = await Promise.all(
    Array.from({ length: shards.size }, (_, s) =>
      shards
        .stockDb(s)
        .collection<TakeClaimDoc>(collections.stock.ops)
        .find({ opId: { $exists: true } }, { comment: scanAllShards })
        .toArray(),
    ),
  );
  for (const c of all.flat()) {
    const ofSku = claims.get(c.sku);
    if (ofSku) ofSku.push(c);
    else claims.set(c.sku, [c]);
  }
  return { ledgers, claims };
}

export interface InvariantOptions {
  /**
   * The ledgers and claims already read for every SKU: the first look at the SKU's buckets uses them (they are
   * still checked to be as of one instant, like a fresh read, and read again if a bucket moved since).
   */
  readonly snapshot?: LedgerSnapshot;
  /**
   * Transfers may be under way (the system is live): a transfer_out not received yet is in transit, not a
   * fault. By default the stock is at rest, where every transfer has both halves (repairTransfers completes them).
   */
  readonly inFlight?: boolean;
}

/** The batch id a member's share of an entry was written under (the entry's own opId). */
function batchOf(share: LedgerEntry): string {
  return share.opKey.slice(share.opKey.indexOf('|') + 1);
}

/** How often the check reads the ledgers again when stock moved while it read them. */
const snapshotAttempts = 50;

/**
 * Every bucket's entries as of one instant. Reading the buckets one after another is not enough: a transfer
 * (a background refill, say) that writes its out to a bucket already read and its in to one read later looks
 * like a transfer_in without its transfer_out, and like units made from nothing. Entries are append-only with
 * gapless seqs, so once every bucket is read, finding no entry after any bucket's last seq means no bucket
 * changed since its own read began: at the moment the last read ended, every bucket was as read.
 */
async function consistentLedgers(
  stock: StockService,
  buckets: readonly BucketRef[],
  snapshot: LedgerSnapshot['ledgers'] | undefined,
): Promise<LedgerEntry[][]> {
  for (let attempt = 1; ; attempt++) {
    const ledgers =
      attempt === 1 && snapshot
        ? buckets.map((bucket) => [...(snapshot.get(bucket.id) ?? [])])
        : await Promise.all(buckets.map((bucket) => stock.ledger.entries(bucket)));
    const after = await Promise.all(buckets.map((bucket, b) => stock.ledger.entry(bucket, ledgers[b]!.length)));
    if (after.every((e) => e === null)) return ledgers;
    if (attempt >= snapshotAttempts) {
      throw new Error(`${buckets[0]?.sku}: stock kept moving through ${snapshotAttempts} reads of its ledgers`);
    }
  }
}

/** How long a check at rest waits for a transfer under way (a background refill) to write its second half. */
const transferSettleMs = 3000;

/**
 * The ledgers as of one instant; at rest, as of one without a transfer between its halves, if one comes within
 * `transferSettleMs`: a writer's background refill (ownership rounds) may be between its transfer_out and its
 * transfer_in at the instant read, which is in transit, not a fault. A transfer left half done by a dead writer
 * stays so, and is reported.
 */
async function settledLedgers(
  stock: StockService,
  buckets: readonly BucketRef[],
  inFlight: boolean,
  snapshot?: LedgerSnapshot['ledgers'],
): Promise<LedgerEntry[][]> {
  const deadline = Date.now() + transferSettleMs;
  for (let read = 0; ; read++) {
    const ledgers = await consistentLedgers(stock, buckets, read === 0 ? snapshot : undefined);
    if (inFlight || !halfDoneTransfer(ledgers) || Date.now() > deadline) return ledgers;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether some transfer_out has no transfer_in among these ledgers. */
function halfDoneTransfer(ledgers: readonly LedgerEntry[][]): boolean {
  const received = new Set(ledgers.flat().flatMap((e) => (e.kind === 'transfer_in' ? [e.opId] : [])));
  return ledgers.flat().some((e) => e.kind === 'transfer_out' && !received.has(e.opId));
}

/**
 * Checks every invariant of one SKU's stock by replaying its ledgers, as of one instant:
 * - each bucket's seqs run 0..n without gaps, starting with its genesis;
 * - replaying the movements from zero gives, at every entry, the balances written with it, and no movement
 *   took a balance below zero;
 * - per bucket, units in states = units received + transferred in - transferred out;
 * - for the SKU, received = available + held + sold + non-sellable + in transit;
 * - every transfer_in has the transfer_out of its operation, source and target, of as many units of the same
 *   state; at rest every transfer_out has its transfer_in;
 * - every trim shrinks an unsettled reservation of its bucket to the size its key names, and every settle
 *   (release, commit, void) settles an existing taking entry of the same bucket at most once, with what its
 *   trims left; held = what the trims left of the unsettled reservations;
 * - every operation a batch's entry lists claimed a place in that batch, and no operation is listed twice
 *   (a hold is taken at most once).
 */
export async function checkInvariants(
  stock: StockService,
  shards: ShardSet,
  sku: string,
  options: InvariantOptions = {},
): Promise<InvariantReport> {
  const violations: string[] = [];
  const product = await stock.product(sku);
  const buckets = stock.bucketsOf(product);
  let totals: Balances = { ...zeroBalances };
  let openHolds = 0;
  let entryCount = 0;
  /** Each transfer's halves, by `<opId>|<source>><target>`. */
  const sent = new Map<string, LedgerEntry>();
  const received = new Map<string, LedgerEntry>();
  const takings = new Map<string, LedgerEntry[]>();
  /** Every batch's entry (written or voided), by `<bucket index>|<batch id>`. */
  const batches = new Map<string, LedgerEntry>();

  const ledgers = await settledLedgers(stock, buckets, options.inFlight ?? false, options.snapshot?.ledgers);
  for (const [b, bucket] of buckets.entries()) {
    const entries = ledgers[b]!;
    entryCount += entries.length;
    let balances: Balances = { ...zeroBalances };
    const taken = new Map<string, LedgerEntry>();
    /** Per hold, the units its trims released. */
    const trimmed = new Map<string, number>();
    const left = (e: LedgerEntry) => e.qty - (trimmed.get(e.opId) ?? 0);
    const settled = new Set<string>();
    for (const [i, e] of entries.entries()) {
      if (e.seq !== i) violations.push(`${bucket.id}: seq ${e.seq} at position ${i}`);
      if (i === 0 && (e.kind !== 'receive' || e.opId !== `create:${sku}`)) {
        violations.push(`${bucket.id}: no genesis entry`);
      }
      const next = applyMovement(balances, e.movement);
      if (!next) {
        violations.push(`${bucket.id}#${e.seq}: ${e.kind} ${e.qty} takes a balance below zero`);
        continue;
      }
      balances = next;
      if (!sameBalances(balances, e.balances))
        violations.push(`${bucket.id}#${e.seq}: written balances differ from replay`);
      // Taking operations: each member of a batch's entry (reservations and ops' state moves; not bulk moves).
      if (e.members) {
        batches.set(`${bucket.index}|${e.opId}`, e);
        for (const m of e.members) {
          const share: LedgerEntry = { ...e, opId: m.opId, qty: m.qty };
          taken.set(m.opId, share);
          takings.set(m.opId, [...(takings.get(m.opId) ?? []), share]);
        }
        const listed = e.members.reduce((n, m) => n + m.qty, 0);
        if (listed !== e.qty) violations.push(`${bucket.id}#${e.seq}: members hold ${listed}, entry moves ${e.qty}`);
      } else if (e.kind === 'reserve' || (e.kind === 'state_change' && e.ref === undefined)) {
        violations.push(`${bucket.id}#${e.seq}: ${e.kind} of ${e.opId} outside a batch`);
      }
      if (e.kind === 'release' && e.opId.startsWith('trim:')) {
        const target = e.ref === undefined ? undefined : taken.get(e.ref);
        const keep = target ? left(target) - e.qty : 0;
        if (!target || target.kind !== 'reserve' || e.qty < 1 || keep < 1 || trimOpId(target.opId, keep) !== e.opId) {
          violations.push(`${bucket.id}#${e.seq}: trims no hold of its bucket to the size its key names`);
        } else if (settled.has(target.opId)) {
          violations.push(`${bucket.id}#${e.seq}: trims hold ${target.opId} after it was settled`);
        } else {
          trimmed.set(target.opId, (trimmed.get(target.opId) ?? 0) + e.qty);
        }
      }
      if (e.opId.startsWith('settle:')) {
        const target = e.ref === undefined ? undefined : taken.get(e.ref);
        if (!target || settleOpId(target.opId) !== e.opId || left(target) !== e.qty) {
          violations.push(`${bucket.id}#${e.seq}: settles no hold of its bucket`);
        } else if (settled.has(target.opId)) {
          violations.push(`${bucket.id}#${e.seq}: hold ${target.opId} settled twice`);
        }
        if (e.ref) settled.add(e.ref);
      }
      if (e.kind === 'transfer_out') sent.set(`${e.opId}|${bucket.index}>${e.ref}`, e);
      if (e.kind === 'transfer_in') received.set(`${e.opId}|${e.ref}>${bucket.index}`, e);
    }
    if (unitsInStates(balances) !== unitsAccountedFor(balances)) {
      violations.push(
        `${bucket.id}: units in states ${unitsInStates(balances)} != accounted ${unitsAccountedFor(balances)}`,
      );
    }
    const open = [...taken.values()].filter((e) => e.kind === 'reserve' && !settled.has(e.opId));
    const unsettledHeld = open.reduce((sum, e) => sum + left(e), 0);
    if (unsettledHeld !== balances.held) {
      violations.push(`${bucket.id}: held ${balances.held} != unsettled reservations ${unsettledHeld}`);
    }
    openHolds += open.length;
    totals = addBalances(totals, balances);
  }

  let inTransit = 0;
  const stateOf = (m: LedgerEntry['movement']) =>
    (m.kind === 'transfer_out' ? m.from : m.kind === 'transfer_in' ? m.to : undefined) ?? 'available';
  for (const [key, e] of received) {
    const out = sent.get(key);
    if (!out) violations.push(`${e._id}: transfer_in of ${e.opId} without its transfer_out`);
    else if (out.qty !== e.qty || stateOf(out.movement) !== stateOf(e.movement)) {
      violations.push(`${e._id}: transfer_in of ${e.opId} differs from its transfer_out ${out._id}`);
    }
  }
  for (const [key, e] of sent) {
    if (received.has(key)) continue;
    inTransit += e.qty;
    if (!options.inFlight) violations.push(`${e._id}: transfer ${e.opId} of ${e.qty} to bucket ${e.ref} not received`);
  }
  const inStates = unitsInStates(totals);
  if (totals.received !== inStates + inTransit) {
    violations.push(`received ${totals.received} != in states ${inStates} + in transit ${inTransit}`);
  }

  // Attempts against the ledger: a member is listed only after its claim of that batch was inserted.
  const claims = options.snapshot
    ? (options.snapshot.claims.get(sku) ?? [])
    : (
        await Promise.all(
          Array.from({ length: shards.size }, (_, s) =>
            shards
              .stockDb(s)
              .collection<TakeClaimDoc>(collections.stock.ops)
              .find({ sku, opId: { $exists: true } }, { comment: scanAllShards })
              .toArray(),
          ),
        )
      ).flat();
  const claimed = new Set(claims.map((c) => `${c.opId}|${c.bucket}|${c.batch}`));
  let unrecorded = 0;
  for (const c of claims) if (c.batch !== undefined && !batches.has(`${c.bucket}|${c.batch}`)) unrecorded++;
  for (const [opId, entries] of takings) {
    if (entries.length > 1)
      violations.push(`${opId}: taken ${entries.length} times (${entries.map((e) => e._id).join(', ')})`);
    for (const e of entries) {
      const index = buckets.findIndex((b) => b.id === e.bucketId);
      const batch = batchOf(e);
      if (!claimed.has(`${opId}|${index}|${batch}`))
        violations.push(`${e._id}: lists ${opId}, which claimed no place in it`);
    }
  }

  return {
    sku,
    ok: violations.length === 0,
    violations,
    totals,
    inTransit,
    openHolds,
    unrecorded,
    entries: entryCount,
  };
}
