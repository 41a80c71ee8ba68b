import { lastOfRunFrom } from '../db';
import type { DomainEvent, EventType } from '../contract/events';
import type { EventStore } from './event-store';

/** Where a SKU stands in its sold-out episodes. */
export interface SoldOutEpisode {
  /** The episode a `stock.sold_out` would open next, or the one that is open. */
  readonly n: number;
  /** Its `stock.sold_out` is recorded and its `stock.back_in_stock` is not: the SKU counts as sold out. */
  readonly open: boolean;
}

/** The key of episode n's two events (`stock.sold_out` and `stock.back_in_stock`). */
export const episodeKey = (sku: string, n: number) => `${sku}:${n}`;

/**
 * A strict SKU's sold-out episodes, read from its events alone (append-only, nothing mutable): episode n is
 * `stock.sold_out` with key `<sku>:<n>` and then `stock.back_in_stock` with the same key, in that order, each
 * recorded once. So whoever sees the SKU sell out (or come back) records the same event as any twin or retry,
 * and episodes never interleave. The last episode is found by galloping over the ids from the last one this
 * process saw.
 */
export class SoldOutEpisodes {
  private readonly seen = new Map<string, { n: number; doc: DomainEvent }>();

  constructor(
    private readonly events: EventStore,
    /** The contract's `eventId` (this folder imports only the contract's types). */
    private readonly eventId: (type: EventType, key: string) => string,
  ) {}

  async current(sku: string): Promise<SoldOutEpisode> {
    const probe = (n: number) =>
      this.events.get(this.eventId('stock.sold_out', episodeKey(sku, n))).then((e) => e ?? null);
    const last = await lastOfRunFrom(this.seen.get(sku) ?? null, probe);
    if (!last) return { n: 0, open: false };
    this.seen.set(sku, last);
    const back = await this.events.get(this.eventId('stock.back_in_stock', episodeKey(sku, last.n)));
    return back ? { n: last.n + 1, open: false } : { n: last.n, open: true };
  }
}
