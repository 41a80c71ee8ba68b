import { collections, type ShardSet } from '../db';
import { replaceUnlessNewer } from '../carts/replace-unless-newer';
import type { EventType } from '../contract/events';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event's delivery to one endpoint, as its attempts left it. */
export interface WebhookDelivery {
  readonly endpointId: string;
  readonly eventId: string;
  readonly eventType: EventType;
  /** `<aggregate kind>:<id>`: deliveries of one aggregate go out in order. */
  readonly aggregate: string;
  readonly status: DeliveryStatus;
  /** Requests sent for it, over every time it was delivered (ops may redeliver). */
  readonly attempts: number;
  /** The receiver's HTTP status of the last attempt, when it answered. */
  readonly lastStatusCode?: number;
  readonly lastError?: string;
  /** ISO 8601. */
  readonly updatedAt: string;
  readonly deliveredAt?: string;
  /** Bumped by every write: a late write of an earlier attempt never replaces a later one. */
  readonly rev: number;
}

type DeliveryDoc = WebhookDelivery & { readonly _id: string };

export function deliveryId(endpointId: string, eventId: string): string {
  return `${endpointId}|${eventId}`;
}

/**
 * Delivery records (`webhook_deliveries`, `_id` = endpoint and event, hashed on a sharded cluster). One writer
 * at a time: the endpoint's delivery workflow runs one attempt of an event at a time, and a stale attempt (one
 * that timed out and answered late) cannot replace a newer state (`replaceUnlessNewer` on `rev`).
 */
export class WebhookDeliveryStore {
  constructor(private readonly shards: ShardSet) {}

  async get(endpointId: string, eventId: string): Promise<WebhookDelivery | undefined> {
    const id = deliveryId(endpointId, eventId);
    const doc = await this.col(id).findOne({ _id: id });
    return doc ? withoutId(doc) : undefined;
  }

  /** Writes the record unless a newer one stands; whether it wrote. */
  save(delivery: WebhookDelivery): Promise<boolean> {
    const id = deliveryId(delivery.endpointId, delivery.eventId);
    return replaceUnlessNewer(this.col(id), { _id: id, ...delivery });
  }

  /** An endpoint's deliveries, newest first (a scan of every shard: for ops). */
  async list(endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    const latest = await this.shards.scan<DeliveryDoc>(
      'carts',
      collections.carts.webhookDeliveries,
      { endpointId },
      { sort: { updatedAt: -1 }, limit },
    );
    return latest
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, limit)
      .map(withoutId);
  }

  /** Every delivery record on every shard (for the system check: a scan). */
  async all(): Promise<WebhookDelivery[]> {
    return (await this.shards.scan<DeliveryDoc>('carts', collections.carts.webhookDeliveries)).map(withoutId);
  }

  private col(id: string) {
    return this.shards.cartsCollection<DeliveryDoc>(this.shards.shardFor(id), collections.carts.webhookDeliveries);
  }
}

function withoutId({ _id, ...rest }: DeliveryDoc): WebhookDelivery {
  return rest;
}
