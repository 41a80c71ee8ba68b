/**
 * Domain events: what happened, told to the rest of the shop (fulfilment, e-mail, ERP) through webhooks. Each
 * is recorded once, append-only, in the same idempotent step as the change it reports, under an id derived
 * from that change (`eventId`), so a retried step records it again as the same event, which is a no-op.
 */
export const eventTypes = [
  'order.completed',
  'order.failed',
  'order.refunded',
  'hold.expired',
  'backorder.queued',
  'backorder.filled',
  'waitlist.joined',
  'waitlist.offered',
  'stock.sold_out',
  'stock.back_in_stock',
  'stock.low',
  'reorder.requested',
  'reorder.approved',
  'reorder.rejected',
] as const;
export type EventType = (typeof eventTypes)[number];

/** What an event is about; a webhook endpoint gets one aggregate's events in the order they happened. */
export interface EventAggregate {
  readonly kind: 'order' | 'hold' | 'sku' | 'reorder';
  readonly id: string;
}

export interface DomainEvent {
  /** `evt:<type>:<the change's own key>`: receivers drop a repeat by it. */
  readonly id: string;
  readonly type: EventType;
  readonly aggregate: EventAggregate;
  /** ISO 8601. */
  readonly occurredAt: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The id of the event a change reports: one per (type, the change's own key). */
export function eventId(type: EventType, key: string): string {
  return `evt:${type}:${key}`;
}

/** An endpoint's subscription: some event types, or `*` for all of them. */
export type EventSubscription = readonly (EventType | '*')[];

export function subscribes(events: EventSubscription, type: EventType): boolean {
  return events.includes('*') || events.includes(type);
}
