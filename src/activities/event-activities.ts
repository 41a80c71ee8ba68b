import { ApplicationFailure, Context } from '@temporalio/activity';
import { eventId, subscribes, type DomainEvent, type EventAggregate, type EventType } from '../contract/events';
import { webhookEventSignal } from '../contract/messages';
import { workflowIds } from '../contract/workflow-ids';
import {
  EventStore,
  signatureHeader,
  signWebhook,
  WebhookDeliveryStore,
  WebhookEndpointStore,
  type WebhookDelivery,
} from '../events';
import type { ActivityDeps } from './deps';

/** How long one delivery request may take before it counts as failed (and is retried). */
export const deliveryTimeoutMs = 10_000;

/** The part of an event its step knows; the id comes from the change's own key. */
export interface EventDraft {
  readonly type: EventType;
  /** The change's own key (an order id, a hold id, a workflow run): with the type, the event's id. */
  readonly key: string;
  readonly aggregate: EventAggregate;
  readonly data: Readonly<Record<string, unknown>>;
}

interface Publisher {
  readonly events: EventStore;
  readonly endpoints: WebhookEndpointStore;
}

const publishers = new WeakMap<ActivityDeps, Publisher>();

function publisherOf(deps: ActivityDeps): Publisher {
  let p = publishers.get(deps);
  if (!p) {
    p = { events: new EventStore(deps.shards), endpoints: new WebhookEndpointStore(deps.shards) };
    publishers.set(deps, p);
  }
  return p;
}

/**
 * Records a domain event (once: its id comes from the change it reports) and hands it to the delivery workflow
 * of every endpoint that wants it (signal-with-start, one workflow per endpoint). Called by the step that made
 * the change, after it: a crash in between is a retry of that step, which makes the change again as a no-op,
 * records the same event as a no-op and hands it on, so an event is never lost, and a repeat is dropped by its
 * id (the workflow's, and the receiver's).
 */
export async function publishEvent(deps: ActivityDeps, draft: EventDraft): Promise<DomainEvent> {
  const { events, endpoints } = publisherOf(deps);
  const { event } = await events.record({
    id: eventId(draft.type, draft.key),
    type: draft.type,
    aggregate: draft.aggregate,
    occurredAt: new Date().toISOString(),
    data: draft.data,
  });
  const targets = (await endpoints.list()).filter((e) => subscribes(e.events, event.type));
  await Promise.all(
    targets.map((endpoint) =>
      deps.temporal.workflow.signalWithStart('webhookDeliveryWorkflow', {
        workflowId: workflowIds.webhooks(endpoint.id),
        taskQueue: deps.taskQueue,
        args: [{ endpointId: endpoint.id, maxAgeSeconds: endpoint.maxAgeSeconds }],
        signal: webhookEventSignal,
        signalArgs: [{ event }],
      }),
    ),
  );
  return event;
}

export type DeliveryOutcome =
  { readonly status: 'delivered'; readonly attempts: number } | { readonly status: 'endpoint_gone' };

/** Webhook deliveries: one request per attempt, its outcome on the event's delivery record. */
export function eventActivities(deps: ActivityDeps) {
  const { endpoints } = publisherOf(deps);
  const deliveries = new WebhookDeliveryStore(deps.shards);

  async function recordAttempt(
    before: WebhookDelivery | undefined,
    endpointId: string,
    event: DomainEvent,
    changes: Pick<WebhookDelivery, 'status'> & Partial<WebhookDelivery>,
  ): Promise<WebhookDelivery> {
    const now = new Date().toISOString();
    const record: WebhookDelivery = {
      endpointId,
      eventId: event.id,
      eventType: event.type,
      aggregate: `${event.aggregate.kind}:${event.aggregate.id}`,
      attempts: before?.attempts ?? 0,
      ...(before?.deliveredAt ? { deliveredAt: before.deliveredAt } : {}),
      ...changes,
      updatedAt: now,
      rev: (before?.rev ?? 0) + 1,
    };
    await deliveries.save(record);
    return record;
  }

  return {
    /**
     * Sends the event to the endpoint once, signed; a receiver's 2xx is delivered, anything else (another
     * status, a redirect, a time-out, a refused connection) is a failed attempt, recorded and thrown for
     * Temporal to retry with backoff. An event delivered already is not sent again unless ops asked.
     */
    async deliverWebhook(input: {
      endpointId: string;
      event: DomainEvent;
      redeliver?: boolean;
    }): Promise<DeliveryOutcome> {
      const { endpointId, event } = input;
      const endpoint = await endpoints.get(endpointId);
      if (!endpoint) return { status: 'endpoint_gone' };
      const before = await deliveries.get(endpointId, event.id);
      const firstOfRun = Context.current().info.attempt === 1;
      if (before?.status === 'delivered' && !(input.redeliver && firstOfRun)) {
        return { status: 'delivered', attempts: before.attempts };
      }
      const attempts = (before?.attempts ?? 0) + 1;
      const body = JSON.stringify(event);
      let statusCode: number | undefined;
      let error: string;
      try {
        const answer = await fetch(endpoint.url, {
          method: 'POST',
          body,
          redirect: 'manual',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'holdfast-webhooks/1',
            [signatureHeader]: signWebhook(endpoint.secret, body, Math.floor(Date.now() / 1000)),
            'holdfast-event-id': event.id,
            'holdfast-event-type': event.type,
          },
          signal: AbortSignal.any([AbortSignal.timeout(deliveryTimeoutMs), Context.current().cancellationSignal]),
        });
        statusCode = answer.status;
        await answer.body?.cancel().catch(() => undefined);
        if (answer.status >= 200 && answer.status < 300) {
          const deliveredAt = new Date().toISOString();
          await recordAttempt(before, endpointId, event, {
            status: 'delivered',
            attempts,
            lastStatusCode: answer.status,
            deliveredAt,
          });
          return { status: 'delivered', attempts };
        }
        error =
          answer.status >= 300 && answer.status < 400
            ? `the receiver answered ${answer.status} (redirects are not followed)`
            : `the receiver answered ${answer.status}`;
      } catch (err) {
        error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      await recordAttempt(before, endpointId, event, {
        status: 'pending',
        attempts,
        lastError: error,
        ...(statusCode !== undefined ? { lastStatusCode: statusCode } : {}),
      });
      throw ApplicationFailure.create({ type: 'webhook_attempt_failed', message: error });
    },

    /** Marks an event's delivery failed for good (its endpoint's age limit passed); ops may redeliver it. */
    async giveUpWebhook(input: { endpointId: string; event: DomainEvent; error: string }): Promise<void> {
      const before = await deliveries.get(input.endpointId, input.event.id);
      if (before?.status === 'delivered') return;
      await recordAttempt(before, input.endpointId, input.event, { status: 'failed', lastError: input.error });
    },

    /** Records a rejected reorder's event (the reorder workflow's rejection makes no other write). */
    async recordReorderRejected(input: { sku: string; reorderId: string; by: string; reason?: string }) {
      await publishEvent(deps, {
        type: 'reorder.rejected',
        key: input.reorderId,
        aggregate: { kind: 'sku', id: input.sku },
        data: { sku: input.sku, rejectedBy: input.by, ...(input.reason ? { reason: input.reason } : {}) },
      });
    },
  };
}
