import { Type, type Static } from 'typebox';
import { eventTypes } from '../events';
import { Id, List, ref, StringEnum } from './common';

const EventTypeOrAll = StringEnum([...eventTypes, '*'] as const);

/** Only http(s) URLs: a receiver of webhooks, never a file or another scheme. */
const WebhookUrl = Type.String({ pattern: '^https?://[^\\s/?#]+[^\\s]*$', maxLength: 2048 });

export const CreateWebhookBody = Type.Object(
  {
    url: WebhookUrl,
    events: Type.Array(EventTypeOrAll, { minItems: 1, maxItems: eventTypes.length + 1, uniqueItems: true }),
    // The signing secret; generated when left out (and answered once, in the 201).
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
    // An event not delivered this long after its first attempt is given up (default 3 days, at most 7).
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 5, maximum: 7 * 24 * 3600 })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const WebhookEndpoint = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    events: List(EventTypeOrAll),
    maxAgeSeconds: Type.Integer(),
    description: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    // Only in the answer that created it.
    secret: Type.Optional(Type.String()),
    workflowId: Type.String(),
    runUrl: Type.Optional(Type.String()),
  },
  { $id: 'WebhookEndpoint' },
);
export type WebhookEndpoint = Static<typeof WebhookEndpoint>;

export const WebhookEndpointList = Type.Object({ endpoints: List(ref(WebhookEndpoint)) });

export const WebhookParams = Type.Object({ id: Id }, { additionalProperties: false });
export const DeliveryParams = Type.Object(
  { id: Id, eventId: Type.String({ pattern: '^evt:[a-z_.]+:[A-Za-z0-9._:-]{1,200}$' }) },
  { additionalProperties: false },
);

export const WebhookDelivery = Type.Object({
  endpointId: Type.String(),
  eventId: Type.String(),
  eventType: StringEnum(eventTypes),
  aggregate: Type.String(),
  status: StringEnum(['pending', 'delivered', 'failed'] as const),
  attempts: Type.Integer(),
  lastStatusCode: Type.Optional(Type.Integer()),
  lastError: Type.Optional(Type.String()),
  updatedAt: Type.String({ format: 'date-time' }),
  deliveredAt: Type.Optional(Type.String({ format: 'date-time' })),
});
export const WebhookDeliveryList = Type.Object({ deliveries: List(WebhookDelivery) });

export const DomainEventView = Type.Object({
  id: Type.String(),
  type: StringEnum(eventTypes),
  aggregate: Type.Object({ kind: StringEnum(['order', 'hold', 'sku', 'reorder'] as const), id: Type.String() }),
  occurredAt: Type.String({ format: 'date-time' }),
  data: Type.Record(Type.String(), Type.Unknown()),
});
export const EventList = Type.Object({ events: List(DomainEventView) });
export const EventListQuery = Type.Object(
  { type: Type.Optional(StringEnum(eventTypes)) },
  { additionalProperties: false },
);
