import type { Collection, Db } from 'mongodb';
import { collections, insertManyOnce, insertOnce, lastOfRunFrom, type ShardSet } from '../db';
import { closedGate, openGate, secondsToWait, type GateRate, type GateState } from './gate';

/** A place in a SKU's line: given once, in arrival order, never changed. */
export interface TicketDoc {
  /** `<sku>#<place, zero-padded>`: places of a SKU are a gapless run from 0, one writer each. */
  readonly _id: string;
  readonly sku: string;
  readonly place: number;
  /** The line the place was given to (orphaned when a twin request's place was kept instead). */
  readonly holdId: string;
  readonly at: Date;
}

/** Which place a line holds: the first one given to it stands. */
export interface PlaceDoc {
  /** `<sku>|<holdId>` */
  readonly _id: string;
  readonly sku: string;
  readonly place: number;
  /** What the line asks for (a digest of the request): asking for something else under the place is refused. */
  readonly request: string;
  /** When the place was given: the line has waited since. */
  readonly at: Date;
}

/** One opening of a SKU's gate: the gate's state is its highest step. */
export interface GateDoc extends GateState {
  /** `<sku>@<step, zero-padded>`: steps are a gapless run from 0, one writer each. */
  readonly _id: string;
  readonly sku: string;
  readonly step: number;
  readonly at: Date;
}

export type Admission =
  | { readonly status: 'admitted'; readonly place: number }
  | {
      readonly status: 'queued';
      readonly place: number;
      /** 1 = the next to be let in. */
      readonly position: number;
      readonly retryAfterSeconds: number;
    }
  /** The line holds its place for another request (the same Idempotency-Key with another body). */
  | { readonly status: 'conflict' };

const pad = (n: number) => String(n).padStart(12, '0');
/** A process trusts the gate it last read for this long before it looks again. */
const gateMaxAgeMs = 50;

/**
 * Per-SKU waiting rooms for a drop: shoppers are given places in arrival order and let in through a gate that
 * opens at the product's rate, so the earliest shoppers reach the stock first and nobody waits in a TCP queue;
 * a shopper not yet let in is told its position and when to ask again.
 *
 * Everything is append-only and keyed by `_id` on the SKU's home shard (FerretDB updates are not atomic; a
 * duplicate-key insert is): a place is a ticket written by compare-and-append at the next number, and a line's
 * place is bound to it once (a twin request of the same line keeps the first); the gate is a run of steps, each
 * written once, so two processes opening it at once cannot both let the same shoppers in twice or skip any.
 * Places are given in batches per process, in arrival order within a batch; across API processes the order is
 * the order in which their batches landed, and an arrival whose number another process took first goes to the
 * back of the next batch.
 *
 * Invariants: places of a SKU are 0..n without repeats; the gate's `through` only grows; a line is let in only
 * when its place is at or below `through`.
 */
export class WaitingRoom {
  private readonly lastTicket = new Map<string, { n: number; doc: TicketDoc } | null>();
  private readonly queued = new Map<
    string,
    { holdId: string; resolve: (ticket: TicketDoc) => void; reject: (err: unknown) => void }[]
  >();
  private readonly issuing = new Set<string>();
  private readonly gates = new Map<
    string,
    { doc: GateDoc | null; readAt: number; reading?: Promise<GateDoc | null> }
  >();

  constructor(
    private readonly shards: ShardSet,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Lets the line in, or says its position: the first call for a line gives it a place at the back. `request`
   * identifies what the line asks for; the place is bound to it.
   */
  async admit(sku: string, holdId: string, request: string, rate: GateRate): Promise<Admission> {
    const bound = await this.placeOf(sku, holdId, request);
    if (bound.request !== request) return { status: 'conflict' };
    const { place } = bound;
    const waitingSince = bound.at.getTime();
    let gate = await this.gate(sku, false);
    for (;;) {
      const state = gate ?? closedGate;
      if (place <= state.through) return { status: 'admitted', place };
      const now = this.clock();
      const lastPlace = Math.max(place, this.lastTicket.get(sku)?.n ?? -1);
      const opened = openGate(state, rate, lastPlace, now, waitingSince);
      if (!opened) {
        return {
          status: 'queued',
          place,
          position: place - state.through,
          retryAfterSeconds: secondsToWait(state, rate, place, now, waitingSince),
        };
      }
      const step = gate ? gate.step + 1 : 0;
      const doc: GateDoc = { _id: `${sku}@${pad(step)}`, sku, step, ...opened, at: new Date(now) };
      const written = await insertOnce(this.gateSteps(sku), doc, 'ignore');
      // Another process opened this step first: look again, from its state.
      gate = written ? this.remember(sku, doc) : await this.gate(sku, true);
    }
  }

  /** The line's place: the one bound to it, or a new one at the back. */
  private async placeOf(sku: string, holdId: string, request: string): Promise<PlaceDoc> {
    const places = this.places(sku);
    const _id = `${sku}|${holdId}`;
    const bound = await places.findOne({ _id });
    if (bound) return bound;
    const ticket = await new Promise<TicketDoc>((resolve, reject) => {
      const line = this.queued.get(sku) ?? [];
      line.push({ holdId, resolve, reject });
      this.queued.set(sku, line);
      if (!this.issuing.has(sku)) void this.issue(sku);
    });
    // A twin request of the line may have bound another place first: that one stands (this one is skipped).
    const doc: PlaceDoc = { _id, sku, place: ticket.place, request, at: ticket.at };
    const { stands } = await insertOnce(places, doc, 'read');
    return stands ?? doc;
  }

  /** Gives the queued arrivals the next places in their order, a batch per round trip. */
  private async issue(sku: string): Promise<void> {
    this.issuing.add(sku);
    try {
      for (;;) {
        const batch = (this.queued.get(sku) ?? []).splice(0, 256);
        if (batch.length === 0) return;
        try {
          let waiting = batch;
          while (waiting.length > 0) {
            const last = await this.ticketHead(sku);
            const from = (last?.n ?? -1) + 1;
            const docs = waiting.map((q, i): TicketDoc => ({
              _id: `${sku}#${pad(from + i)}`,
              sku,
              place: from + i,
              holdId: q.holdId,
              at: new Date(this.clock()),
            }));
            // A failure may have written some of the batch: the same documents once more say which (a hole in
            // the run of places would otherwise stay, and an orphan ticket with it).
            const results = await insertManyOnce(this.tickets(sku), docs).catch(() =>
              insertManyOnce(this.tickets(sku), docs),
            );
            const refused: typeof waiting = [];
            results.forEach((r, i) => {
              // Ours: inserted now, or by the try before this one.
              const doc = r.inserted ? docs[i]! : r.stands?.holdId === docs[i]!.holdId ? r.stands : undefined;
              if (doc) {
                const known = this.lastTicket.get(sku);
                if (!known || known.n < doc.place) this.lastTicket.set(sku, { n: doc.place, doc });
                waiting[i]!.resolve(doc);
              } else refused.push(waiting[i]!); // another process took that number: the next round, further back
            });
            waiting = refused;
          }
        } catch (err) {
          for (const q of batch) q.reject(err); // the ones given a place were resolved: a reject is a no-op
        }
      }
    } finally {
      this.issuing.delete(sku);
    }
  }

  /** The last place given out for the SKU, from the last one this process knows (galloping `_id` probes). */
  private async ticketHead(sku: string): Promise<{ n: number; doc: TicketDoc } | null> {
    const tickets = this.tickets(sku);
    const probe = (n: number) => tickets.findOne({ _id: `${sku}#${pad(n)}` });
    const last = await lastOfRunFrom(this.lastTicket.get(sku) ?? null, probe);
    this.lastTicket.set(sku, last);
    return last;
  }

  /** The SKU's gate: the one read less than gateMaxAgeMs ago, unless `fresh`; concurrent readers share a read. */
  private async gate(sku: string, fresh: boolean): Promise<GateDoc | null> {
    const cached = this.gates.get(sku);
    // A read under way may have started before a step this process wrote since: the later of the two.
    if (cached?.reading) return later(await cached.reading, this.gates.get(sku)?.doc ?? null);
    if (cached && !fresh && this.clock() - cached.readAt < gateMaxAgeMs) return cached.doc;
    const readAt = this.clock();
    const reading = (async () => {
      const steps = this.gateSteps(sku);
      const probe = (n: number) => steps.findOne({ _id: `${sku}@${pad(n)}` });
      const known = cached?.doc ? { n: cached.doc.step, doc: cached.doc } : null;
      return (await lastOfRunFrom(known, probe))?.doc ?? null;
    })();
    this.gates.set(sku, { doc: cached?.doc ?? null, readAt: cached?.readAt ?? 0, reading });
    try {
      const doc = later(await reading, this.gates.get(sku)?.doc ?? null);
      this.gates.set(sku, { doc, readAt });
      return doc;
    } catch (err) {
      this.gates.set(sku, { doc: this.gates.get(sku)?.doc ?? null, readAt: cached?.readAt ?? 0 });
      throw err;
    }
  }

  /** A step this process wrote: the gate as it is now (a read under way cannot bring back an older one). */
  private remember(sku: string, doc: GateDoc): GateDoc {
    const cached = this.gates.get(sku);
    this.gates.set(sku, { ...cached, doc: later(doc, cached?.doc ?? null), readAt: this.clock() });
    return doc;
  }

  private tickets(sku: string): Collection<TicketDoc> {
    return this.homeOf(sku).collection<TicketDoc>(collections.stock.queueTickets);
  }

  private places(sku: string): Collection<PlaceDoc> {
    return this.homeOf(sku).collection<PlaceDoc>(collections.stock.queuePlaces);
  }

  private gateSteps(sku: string): Collection<GateDoc> {
    return this.homeOf(sku).collection<GateDoc>(collections.stock.queueGates);
  }

  /** Every record of a SKU's room is on the SKU's home shard. */
  private homeOf(sku: string): Db {
    return this.shards.stockDb(this.shards.shardFor(sku));
  }
}

function later(a: GateDoc | null, b: GateDoc | null): GateDoc | null {
  if (!a || !b) return a ?? b;
  return a.step >= b.step ? a : b;
}
