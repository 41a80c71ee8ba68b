import { collections, insertOnce, type ShardSet } from '../db';
import type { EventSubscription } from '../contract/events';

/** A receiver ops registered: where to send which events, signed with its secret. Never changed once written. */
export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly events: EventSubscription;
  /** The HMAC-SHA256 key of `Holdfast-Signature`. */
  readonly secret: string;
  /** An event not delivered this long after its first attempt is given up (and shown failed). */
  readonly maxAgeSeconds: number;
  readonly description?: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

type EndpointDoc = WebhookEndpoint & { readonly _id: string };

/** How long a process trusts its list of endpoints before reading it again. */
const listCacheMs = 1000;

/**
 * Webhook endpoints (`webhook_endpoints`, unsharded, `_id` = its id): written once by ops and deleted by ops,
 * never updated, so no two writers ever race on one. Every process reads the short list often (each recorded
 * event asks which endpoints want it) and keeps it for a second.
 */
export class WebhookEndpointStore {
  private cached: { at: number; list: Promise<WebhookEndpoint[]> } | undefined;

  constructor(
    private readonly shards: ShardSet,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Registers an endpoint; the same id again answers the one that stands (an Idempotency-Key's retry). */
  async create(endpoint: WebhookEndpoint): Promise<{ endpoint: WebhookEndpoint; created: boolean }> {
    const { inserted, stands } = await insertOnce(this.col(), { _id: endpoint.id, ...endpoint }, 'read');
    this.cached = undefined;
    return { endpoint: withoutId(stands ?? { _id: endpoint.id, ...endpoint }), created: inserted };
  }

  async get(id: string): Promise<WebhookEndpoint | undefined> {
    const doc = await this.col().findOne({ _id: id });
    return doc ? withoutId(doc) : undefined;
  }

  /** Every endpoint, oldest first; from a list at most a second old unless `fresh`. */
  list(fresh = false): Promise<WebhookEndpoint[]> {
    const now = this.clock();
    if (fresh || !this.cached || now - this.cached.at > listCacheMs) {
      const list = this.col()
        .find({})
        .toArray()
        .then((docs) => docs.map(withoutId).sort((a, b) => a.createdAt.localeCompare(b.createdAt)));
      list.catch(() => (this.cached = undefined));
      this.cached = { at: now, list };
    }
    return this.cached.list;
  }

  /** Removes an endpoint; whether it was there. Its delivery workflow ends at its next event. */
  async delete(id: string): Promise<boolean> {
    const { deletedCount } = await this.col().deleteOne({ _id: id });
    this.cached = undefined;
    return deletedCount > 0;
  }

  private col() {
    // Unsharded behind mongos: a short list on its database's primary shard; here, on the first shard.
    return this.shards.cartsCollection<EndpointDoc>(0, collections.carts.webhookEndpoints);
  }
}

function withoutId({ _id, ...rest }: EndpointDoc): WebhookEndpoint {
  return rest;
}
