import { collections, eventsSinceMark, type ShardSet } from '../db';
import { eventId, subscribes, type EventType } from '../contract/events';
import type { CartLine, Order } from '../contract/types';
import { deliveryId, EventStore, WebhookDeliveryStore, WebhookEndpointStore } from '../events';

/**
 * Rule 12 of the system check: events and webhooks.
 *  - every final change has its event: a completed order its `order.completed`, a failed one its `order.failed`,
 *    an expired line its `hold.expired`, a waitlist offer its `waitlist.offered` (changes from before the store
 *    recorded events are exempt);
 *  - every event an endpoint wants, recorded after the endpoint was registered, was handed to its delivery
 *    workflow and tried: it has a delivery record for that endpoint (delivered, given up, or still being tried).
 */
export async function eventViolations(
  shards: ShardSet,
  lines: readonly CartLine[],
  orders: readonly Order[],
): Promise<string[]> {
  const violations: string[] = [];
  const [events, endpoints, deliveries, marks] = await Promise.all([
    new EventStore(shards).all(),
    new WebhookEndpointStore(shards).list(true),
    new WebhookDeliveryStore(shards).all(),
    Promise.all(
      Array.from({ length: shards.size }, (_, s) =>
        shards.cartsCollection<{ _id: string; at: Date }>(s, collections.carts.marks).findOne({ _id: eventsSinceMark }),
      ),
    ),
  ]);
  const since = Math.min(...marks.map((m) => m?.at.getTime() ?? Infinity));
  const recorded = new Set(events.map((e) => e.id));
  const expect = (type: EventType, key: string, what: string, at: string) => {
    if (Date.parse(at) >= since && !recorded.has(eventId(type, key))) violations.push(`${what}: no ${type} event`);
  };
  for (const o of orders) {
    if (o.status === 'completed') expect('order.completed', o.orderId, `order ${o.orderId}`, o.updatedAt);
    if (o.status === 'failed' && o.reason) expect('order.failed', o.orderId, `order ${o.orderId}`, o.updatedAt);
  }
  for (const l of lines) {
    if (l.status === 'expired') expect('hold.expired', l.holdId, `line ${l.holdId}`, l.updatedAt);
    if (l.offeredAt) expect('waitlist.offered', l.holdId, `line ${l.holdId}`, l.offeredAt);
  }
  const tried = new Set(deliveries.map((d) => deliveryId(d.endpointId, d.eventId)));
  for (const endpoint of endpoints) {
    for (const e of events) {
      if (!subscribes(endpoint.events, e.type) || e.occurredAt < endpoint.createdAt) continue;
      if (!tried.has(deliveryId(endpoint.id, e.id))) {
        violations.push(`webhook ${endpoint.id}: event ${e.id} was never tried`);
      }
    }
  }
  return violations;
}
