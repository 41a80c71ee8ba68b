import type { Movement } from './balances';
import type { BucketLedger, Planned } from './ledger';
import type { BatchMember, BucketRef, LedgerEntry } from './types';

/** Most operations one entry takes stock for (bounds the entry's size). */
const maxMembers = 64;

/** What became of an operation's place in a batch. */
export type BatchResult =
  /** The batch's entry lists the operation: its stock is taken, in `entry`. */
  | { readonly status: 'committed'; readonly entry: LedgerEntry }
  /** The batch was written without it (it did not fit), voided, or not written at all: nothing was taken. */
  | { readonly status: 'aborted' };

/** A place in the batch forming for one bucket and movement. */
export interface Ticket {
  /** The batch's id: the opId its one ledger entry is written under. */
  readonly batchId: string;
  /** A seq of the bucket the batch's entry will come after (this process's head when the place was given). */
  readonly afterSeq: number;
  /**
   * Says whether the operation's claim of this place was inserted (won) or not (a twin's came first, or the
   * insert failed). Resolves, for a won place, once the batch is written; a lost place leaves the batch.
   */
  claimed(won: boolean): Promise<BatchResult>;
}

interface Place {
  readonly member: BatchMember;
  won: boolean | undefined;
  resolve(result: BatchResult): void;
  reject(err: unknown): void;
}

interface Batch {
  readonly id: string;
  readonly bucket: BucketRef;
  readonly movement: Movement;
  readonly places: Place[];
  /** Next to be written: it takes no more members, and is written once the claims of those it has are in. */
  closed: boolean;
  /** Being written. */
  sealed: boolean;
}

/**
 * Group commit: the taking operations of this process that want the same movement in the same bucket at the
 * same time share one ledger entry. While one batch's entry is being written, the next batch gathers its
 * members; it is written as soon as the one before is done and every member's claim is in. The entry lists
 * its members with their quantities, chosen against the head it follows (those that do not fit are left
 * out, and learn it), so one compare-and-append takes stock for many operations, each exactly once: an
 * operation is in a batch only after its own claim of that batch was inserted (see take.ts).
 */
export class GroupCommit {
  /** Per bucket and movement, its batches in the order they are written; the first may be being written. */
  private readonly queues = new Map<string, Batch[]>();
  private counter = 0;

  constructor(
    private readonly ledger: BucketLedger,
    private readonly writerId: string,
  ) {}

  /** A place for `member` in the batch forming for this bucket and movement (its qty is the member's). */
  join(bucket: BucketRef, movement: Movement, member: BatchMember): Ticket {
    const key = `${bucket.id}|${movementKey(movement)}`;
    const queue = this.queues.get(key) ?? [];
    this.queues.set(key, queue);
    let batch = queue.at(-1);
    if (!batch || batch.closed || batch.places.length >= maxMembers) {
      const id = `batch:${this.writerId}:${++this.counter}`;
      batch = { id, bucket, movement, places: [], closed: false, sealed: false };
      queue.push(batch);
    }
    let place!: Place;
    const result = new Promise<BatchResult>((resolve, reject) => {
      place = { member, won: undefined, resolve, reject };
    });
    batch.places.push(place);
    return {
      batchId: batch.id,
      afterSeq: this.ledger.cachedHead(bucket)?.seq ?? -1,
      claimed: (won) => {
        place.won = won;
        if (!won) place.resolve({ status: 'aborted' });
        this.flushIfReady(key);
        return result;
      },
    };
  }

  /**
   * Writes the key's first batch unless it is being written: it takes no more members from now on (so a steady
   * stream of joiners cannot keep it waiting), and is written once every member it has says its claim is in.
   */
  private flushIfReady(key: string) {
    const queue = this.queues.get(key);
    const batch = queue?.[0];
    if (!queue || !batch || batch.sealed) return;
    batch.closed = true;
    if (batch.places.some((p) => p.won === undefined)) return;
    batch.sealed = true;
    const places = batch.places.filter((p) => p.won);
    const written = places.length > 0 ? this.write(batch, places) : Promise.resolve();
    void written.finally(() => {
      queue.shift();
      if (queue.length === 0) this.queues.delete(key);
      else this.flushIfReady(key);
    });
  }

  private async write(batch: Batch, places: Place[]) {
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
        p.resolve(entry && listed.has(p.member.opId) ? { status: 'committed', entry } : { status: 'aborted' });
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
