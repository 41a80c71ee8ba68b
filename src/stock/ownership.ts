import type { Collection } from 'mongodb';
import { collections, insertOnce, lastOfRunFrom, type ShardSet } from '../db';
import type { BucketRef, ProductDoc } from './types';

/** One epoch of a bucket's lease (collection `leases`, on the bucket's shard), written once. */
export interface LeaseDoc {
  /** `lease:<bucketId>#<epoch, zero-padded>`. */
  readonly _id: string;
  readonly bucketId: string;
  readonly sku: string;
  readonly epoch: number;
  /** The writer that owns the bucket until `until`; null when its owner gave it up. */
  readonly owner: string | null;
  readonly until: Date;
}

export interface OwnershipOptions {
  /** How long a lease lasts unless renewed; a dead owner's buckets are everyone's again after it. */
  readonly leaseMs?: number;
  /** How often a writer reads a SKU's leases while it uses the SKU (four times as often while short of its share). */
  readonly roundMs?: number;
  /** Called (in the background) when this writer took over a bucket whose owner let its lease lapse. */
  readonly onTakeover?: (sku: string) => Promise<unknown>;
  /** Called after every round with the buckets this writer owns (to refill them when they run low). */
  readonly onRound?: (sku: string, owned: ReadonlySet<number>) => Promise<unknown>;
}

interface SkuLeases {
  readonly buckets: readonly BucketRef[];
  /** Per bucket index, the latest lease epoch this process has seen. */
  readonly heads: (LeaseDoc | undefined)[];
  lastUse: number;
  maintaining: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
  /** This writer held its share after the last round (else the next comes sooner). */
  balanced: boolean;
}

export function leaseId(bucketId: string, epoch: number): string {
  return `lease:${bucketId}#${String(epoch).padStart(9, '0')}`;
}

/**
 * Owned tallies: each writer process (a worker, an API process, a bench process) leases some of a SKU's
 * buckets and takes stock from its own first, where nobody else appends, so its compare-and-appends do not
 * collide. A lease is an append-only chain of epochs per bucket: taking, renewing or giving up a bucket is
 * inserting the next epoch, which one writer wins (a duplicate-key insert is atomic on FerretDB, where an
 * update is not). A writer holds its fair share (buckets / live writers, rounded up), renews while it uses
 * the SKU, gives back what is over its share, and takes buckets whose lease lapsed: a writer that died
 * strands nothing, since after its lease its buckets are served by others.
 *
 * Ownership is a hint for speed, never for safety: every append is still a compare-and-append, anyone may
 * take from any bucket (a writer falls back to the others' buckets when its own are dry), so a SKU reads
 * sold out only when every bucket is empty, and clocks that disagree cost collisions, not stock.
 */
export class Ownership {
  readonly writerId: string;
  private readonly skus = new Map<string, SkuLeases>();
  private readonly leaseMs: number;
  private readonly roundMs: number;
  private closed = false;

  constructor(
    private readonly shards: ShardSet,
    writerId: string,
    private readonly clock: () => Date,
    private readonly options: OwnershipOptions = {},
  ) {
    this.writerId = writerId;
    this.leaseMs = options.leaseMs ?? 6000;
    this.roundMs = options.roundMs ?? 1000;
  }

  /**
   * The indexes of the product's buckets this writer owns now (no I/O). The first call for a SKU starts taking
   * its share in the background; later calls keep the leases renewed while the SKU is in use.
   */
  owned(product: Pick<ProductDoc, 'sku'>, buckets: readonly BucketRef[]): Set<number> {
    let state = this.skus.get(product.sku);
    if (!state) {
      state = {
        buckets,
        heads: buckets.map(() => undefined),
        lastUse: 0,
        maintaining: undefined,
        timer: undefined,
        balanced: false,
      };
      this.skus.set(product.sku, state);
    }
    state.lastUse = this.clock().getTime();
    if (!state.timer && !this.closed) this.schedule(product.sku, state, 0);
    return this.mineOf(state);
  }

  private mineOf(state: SkuLeases): Set<number> {
    const now = this.clock().getTime();
    const mine = new Set<number>();
    for (const [i, lease] of state.heads.entries()) {
      if (lease?.owner === this.writerId && lease.until.getTime() > now) mine.add(i);
    }
    return mine;
  }

  /** Takes and renews this writer's share of the SKU's buckets now (the background task, for tests). */
  async maintain(sku: string): Promise<void> {
    const state = this.skus.get(sku);
    if (!state) return;
    state.maintaining ??= this.balance(sku, state).finally(() => (state.maintaining = undefined));
    await state.maintaining;
  }

  /** Stops renewing: this writer's leases lapse (or are given up at once with `release`). */
  async close(release = false): Promise<void> {
    this.closed = true;
    for (const state of this.skus.values()) {
      clearTimeout(state.timer);
      state.timer = undefined;
      await state.maintaining?.catch(() => undefined);
      if (!release) continue;
      await Promise.all(
        state.heads.map((lease, i) => (lease?.owner === this.writerId ? this.write(state, i, false) : undefined)),
      );
    }
  }

  /** Runs the SKU's rounds one after another; `state.timer` is set while the chain runs, so it runs once. */
  private schedule(sku: string, state: SkuLeases, delayMs: number) {
    state.timer = setTimeout(() => {
      const idle = this.clock().getTime() - state.lastUse > 2 * this.leaseMs;
      if (this.closed || idle) {
        state.timer = undefined; // an idle SKU's leases lapse; its next use starts the chain again
        return;
      }
      this.maintain(sku)
        .catch(() => undefined) // a shard that cannot be reached now: the next round tries again
        .finally(() => {
          if (this.closed) state.timer = undefined;
          else this.schedule(sku, state, state.balanced ? this.roundMs : this.roundMs / 4);
        });
    }, delayMs);
    state.timer.unref();
  }

  /**
   * One round: read every bucket's lease, then move towards this writer's share of n live writers (this one
   * counted): keep up to ceil(buckets / n) and give up the rest at once, take lapsed or given-up buckets up to
   * that, and, while holding fewer than floor(buckets / n), take one bucket of the writer that holds the most,
   * if it holds more than that (a newcomer is seen by nobody until it holds a bucket). Renews what it keeps
   * when half the lease is gone.
   */
  private async balance(sku: string, state: SkuLeases) {
    await Promise.all(state.buckets.map((_, i) => this.latest(state, i)));
    const now = this.clock().getTime();
    const live = (l: LeaseDoc | undefined) => l?.owner != null && l.until.getTime() > now;
    // Buckets whose owner stopped renewing without giving them up: it may have died mid-transfer.
    const lapsedOwner = new Set(state.heads.flatMap((l, i) => (l?.owner != null && !live(l) ? [i] : [])));
    const held = new Map<string, number[]>([[this.writerId, []]]);
    for (const [i, l] of state.heads.entries()) if (live(l)) held.set(l!.owner!, [...(held.get(l!.owner!) ?? []), i]);
    const lo = Math.floor(state.buckets.length / held.size);
    const hi = Math.ceil(state.buckets.length / held.size);
    const mine = held.get(this.writerId)!;
    const renewBy = now + this.leaseMs / 2;
    await Promise.all(
      mine.map((i, n) => {
        if (n >= hi) return this.write(state, i, false); // over the share: give it up
        return state.heads[i]!.until.getTime() < renewBy ? this.write(state, i, true) : undefined;
      }),
    );
    // Free buckets (lapsed or given up), as many as the share has room for, taken at once.
    const free = state.heads.flatMap((l, i) => (live(l) ? [] : [i])).slice(0, Math.max(0, hi - mine.length));
    const taken = await Promise.all(free.map((i) => this.write(state, i, true)));
    let count = Math.min(mine.length, hi) + taken.filter(Boolean).length;
    const tookLapsed = free.some((i, n) => taken[n] && state.heads[i] !== undefined && lapsedOwner.has(i));
    if (count < lo) {
      const richest = [...held].filter(([w]) => w !== this.writerId).sort((a, b) => b[1].length - a[1].length)[0];
      if (richest && richest[1].length > lo && (await this.write(state, richest[1].at(-1)!, true))) count++;
    }
    state.balanced = count >= lo;
    if (tookLapsed) void this.options.onTakeover?.(sku).catch(() => undefined);
    await this.options.onRound?.(sku, this.mineOf(state));
  }

  /** The bucket's latest lease epoch: from the one last seen, probing the next epochs by `_id`. */
  private async latest(state: SkuLeases, i: number): Promise<LeaseDoc | undefined> {
    const bucket = state.buckets[i]!;
    const col = this.collection(bucket);
    const probe = (epoch: number) => col.findOne({ _id: leaseId(bucket.id, epoch), bucketId: bucket.id });
    const seen = state.heads[i];
    const known = (await lastOfRunFrom(seen ? { n: seen.epoch, doc: seen } : null, probe))?.doc;
    state.heads[i] = known;
    return known;
  }

  /**
   * Writes the bucket's next lease epoch: this writer's for a lease from now (`own`), or nobody's from now
   * (given up). False when another writer wrote that epoch first (then the latest is read).
   */
  private async write(state: SkuLeases, i: number, own: boolean): Promise<boolean> {
    const bucket = state.buckets[i]!;
    const epoch = (state.heads[i]?.epoch ?? -1) + 1;
    const now = this.clock().getTime();
    const lease: LeaseDoc = {
      _id: leaseId(bucket.id, epoch),
      bucketId: bucket.id,
      sku: bucket.sku,
      epoch,
      owner: own ? this.writerId : null,
      until: new Date(own ? now + this.leaseMs : now),
    };
    const { inserted, stands } = await insertOnce(this.collection(bucket), lease, 'read');
    state.heads[i] = stands ?? state.heads[i];
    if (!inserted) await this.latest(state, i);
    return inserted;
  }

  private collection(bucket: BucketRef): Collection<LeaseDoc> {
    return this.shards.stockCollection<LeaseDoc>(bucket.shard, collections.stock.leases);
  }
}
