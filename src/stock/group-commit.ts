import type { InsertOnce } from '../db';
import type { Movement } from './balances';
import type { BucketLedger, Planned } from './ledger';
import type { BatchMember, BucketRef, LedgerEntry } from './types';

/** Most operations one entry takes stock for (bounds the entry's size). */
const maxMembers = 64;

/** What became of an operation's place in a batch. */
export type PlaceResult<C> =
  /** Its claim was inserted and the batch's entry lists it: its stock is taken, in `entry`. */
  | { readonly status: 'committed'; readonly claim: C; readonly entry: LedgerEntry }
  /** Its claim was inserted, but the batch was written without it (it did not fit) or voided: nothing taken. */
  | { readonly status: 'aborted' }
  /** Its claim was not inserted: another run's attempt stands under its id (null: another index refused it). */
  | { readonly status: 'lost'; readonly stands: C | null };

/** Inserts the claims of a batch's members, each once, in as few round trips as it can; see insertManyOnce. */
export type ClaimWriter<C> = (claims: readonly C[]) => Promise<InsertOnce<C>[]>;

interface Place<C> {
  readonly member: BatchMember;
  readonly claim: C;
  won: boolean;
  resolve(result: PlaceResult<C>): void;
  reject(err: unknown): void;
}

interface Batch<C> {
  readonly id: string;
  readonly bucket: BucketRef;
  readonly movement: Movement;
  readonly afterSeq: number;
  readonly places: Place<C>[];
  /** forming: takes members; claiming: its members' claims are being inserted; claimed: next to be written. */
  stage: 'forming' | 'claiming' | 'claimed' | 'writing';
}

/** Per bucket and movement: its batches in order, the one whose claims are being inserted, the one being written. */
interface Lane<C> {
  readonly batches: Batch<C>[];
  claiming: boolean;
  writing: boolean;
}

/**
 * Group commit: the taking operations of this process that want the same movement in the same bucket at the
 * same time share one ledger entry, and their claims one round trip. A batch goes through two stages, each
 * one batch at a time per bucket and movement: its members' claims are inserted together (`ClaimWriter`),
 * then its entry is written, listing the members whose claims went in, with their quantities, fitted to the
 * head it follows (those that do not fit are left out, and learn it). While one batch is in a stage the next
 * one gathers members, so under load a batch carries everyone who arrived during one round trip. An
 * operation is in a batch's entry only after its own claim of that batch was inserted (see take.ts).
 */
export class GroupCommit<C> {
  private readonly lanes = new Map<string, Lane<C>>();
  private counter = 0;

  constructor(
    private readonly ledger: BucketLedger,
    private readonly writerId: string,
    private readonly writeClaims: ClaimWriter<C>,
  ) {}

  /**
   * Places `member` in the batch forming for this bucket and movement; `claimOf` makes its claim of that batch
   * (from the batch's id and a seq the batch's entry will come after). Resolves once the batch is written.
   */
  join(
    bucket: BucketRef,
    movement: Movement,
    member: BatchMember,
    claimOf: (batchId: string, afterSeq: number) => C,
  ): Promise<PlaceResult<C>> {
    const key = `${bucket.id}|${movementKey(movement)}`;
    const lane = this.lanes.get(key) ?? { batches: [], claiming: false, writing: false };
    this.lanes.set(key, lane);
    let batch = lane.batches.at(-1);
    if (!batch || batch.stage !== 'forming' || batch.places.length >= maxMembers) {
      const id = `batch:${this.writerId}:${++this.counter}`;
      // The entry is appended by this process later, above any head it has seen: so above this one.
      const afterSeq = this.ledger.cachedHead(bucket)?.seq ?? -1;
      batch = { id, bucket, movement, afterSeq, places: [], stage: 'forming' };
      lane.batches.push(batch);
    }
    const claim = claimOf(batch.id, batch.afterSeq);
    const placed = new Promise<PlaceResult<C>>((resolve, reject) => {
      batch.places.push({ member, claim, won: false, resolve, reject });
    });
    this.kick(key, lane);
    return placed;
  }

  /** Starts what can start: the first forming batch's claims, and the first claimed batch's entry. */
  private kick(key: string, lane: Lane<C>) {
    const forming = lane.batches.find((b) => b.stage === 'forming');
    if (!lane.claiming && forming) {
      lane.claiming = true;
      forming.stage = 'claiming';
      void this.claim(forming).finally(() => {
        lane.claiming = false;
        this.kick(key, lane);
      });
    }
    const first = lane.batches[0];
    if (!lane.writing && first?.stage === 'claimed') {
      lane.writing = true;
      first.stage = 'writing';
      void this.write(first).finally(() => {
        lane.writing = false;
        lane.batches.shift();
        if (lane.batches.length === 0) this.lanes.delete(key);
        else this.kick(key, lane);
      });
    }
  }

  private async claim(batch: Batch<C>) {
    try {
      const results = await this.writeClaims(batch.places.map((p) => p.claim));
      for (const [i, p] of batch.places.entries()) {
        const result = results[i]!;
        p.won = result.inserted;
        if (!result.inserted) p.resolve({ status: 'lost', stands: result.stands });
      }
    } catch (err) {
      // Some claims may have gone in: this batch is never written, so a retry finds it unwritten and voids it.
      for (const p of batch.places) p.reject(err);
      batch.places.length = 0;
    }
    batch.stage = 'claimed';
  }

  private async write(batch: Batch<C>) {
    const places = batch.places.filter((p) => p.won);
    if (places.length === 0) return;
    try {
      let result = await this.ledger.append(batch.bucket, batch.id, (head) =>
        fit(
          batch.movement,
          head,
          places.map((p) => p.member),
        ),
      );
      // Nobody fits: the batch is voided, so that anyone who reads a member's claim learns it at once.
      if (result.status === 'insufficient') result = await this.ledger.append(batch.bucket, batch.id, voidOf);
      const entry = result.status === 'appended' || result.status === 'duplicate' ? result.entry : undefined;
      const listed = new Set(entry?.members?.map((m) => m.opId));
      for (const p of places) {
        p.resolve(
          entry && listed.has(p.member.opId) ? { status: 'committed', claim: p.claim, entry } : { status: 'aborted' },
        );
      }
    } catch (err) {
      // The entry may or may not have been written: each member's retry finds out (see take.ts's resolve).
      for (const p of places) p.reject(err);
    }
  }
}

/**
 * The members that fit the head's balance of the state the movement takes from, in the order they joined,
 * skipping any that does not fit; undefined when none does.
 */
function fit(movement: Movement, head: LedgerEntry, members: readonly BatchMember[]): Planned | undefined {
  const state =
    movement.kind === 'reserve'
      ? (movement.from ?? 'available')
      : movement.kind === 'state_change'
        ? movement.from
        : 'available';
  let room = head.balances[state];
  const chosen: BatchMember[] = [];
  for (const m of members) {
    if (m.qty > room) continue;
    chosen.push(m);
    room -= m.qty;
  }
  if (chosen.length === 0) return undefined;
  const qty = chosen.reduce((sum, m) => sum + m.qty, 0);
  return { movement: { ...movement, qty }, members: chosen };
}

/** The entry that voids a batch: it lists nobody and moves nothing, and its id can never be written again. */
export function voidOf(): Planned {
  return { movement: { kind: 'reserve', qty: 0 }, members: [] };
}

/** Movements share a batch when they move between the same states. */
function movementKey(m: Movement): string {
  return [m.kind, 'from' in m ? (m.from ?? '') : '', 'to' in m ? (m.to ?? '') : ''].join('>');
}
