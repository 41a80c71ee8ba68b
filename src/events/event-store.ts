import { collections, insertOnce, type ShardSet } from '../db';
import type { DomainEvent, EventType } from '../contract/events';

type EventDoc = DomainEvent & { readonly _id: string };

/**
 * Domain events (`events`, `_id` = the event id, on the shard of its id): append-only, each inserted once. A
 * step that records its event again (a retried activity) finds the one that stands and changes nothing.
 */
export class EventStore {
  constructor(private readonly shards: ShardSet) {}

  /** Records the event unless it is recorded; answers the one that stands and whether this call wrote it. */
  async record(event: DomainEvent): Promise<{ event: DomainEvent; recorded: boolean }> {
    const { inserted, stands } = await insertOnce(this.events(event.id), { _id: event.id, ...event }, 'read');
    return { event: withoutId(stands ?? { _id: event.id, ...event }), recorded: inserted };
  }

  async get(id: string): Promise<DomainEvent | undefined> {
    const doc = await this.events(id).findOne({ _id: id });
    return doc ? withoutId(doc) : undefined;
  }

  /** The latest events, newest first, of one type or all (a scan of every shard: for ops, not for a hot path). */
  async recent(limit: number, type?: EventType): Promise<DomainEvent[]> {
    const newest = await this.shards.scan<EventDoc>('carts', collections.carts.events, type ? { type } : {}, {
      sort: { occurredAt: -1 },
      limit,
    });
    return newest
      .sort((a, b) => b.occurredAt.localeCompare(a.occurredAt) || a.id.localeCompare(b.id))
      .slice(0, limit)
      .map(withoutId);
  }

  /** Every event on every shard (for the system check of a quiet store: a scan). */
  async all(): Promise<DomainEvent[]> {
    return (await this.shards.scan<EventDoc>('carts', collections.carts.events)).map(withoutId);
  }

  private events(id: string) {
    return this.shards.cartsCollection<EventDoc>(this.shards.shardFor(id), collections.carts.events);
  }
}

function withoutId<T extends { _id: string }>({ _id, ...rest }: T): Omit<T, '_id'> {
  return rest;
}
