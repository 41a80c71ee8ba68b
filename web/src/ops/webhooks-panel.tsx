import { useState } from 'preact/hooks';
import type { NewWebhook, WebhookDelivery, WebhookEndpoint } from '../api';
import { time } from '../format';
import type { OpsCall, RunAction } from './ops-console';
import { RunLink } from './run-link';

interface Props {
  readonly endpoints: readonly WebhookEndpoint[] | undefined;
  readonly deliveries: ReadonlyMap<string, readonly WebhookDelivery[]>;
  readonly call: OpsCall;
  readonly run: RunAction;
}

/** Webhook endpoints, each with its latest deliveries (status, attempts, last error, redeliver), and a form to add one. */
export function WebhooksPanel({ endpoints, deliveries, call, run }: Props) {
  const [secret, setSecret] = useState<{ id: string; secret: string }>();
  return (
    <section class="panel" aria-label="Webhooks" data-testid="webhooks">
      <h2>
        Webhooks <span class="muted small">signed domain events, retried until delivered or given up</span>
      </h2>
      {secret && (
        <p class="notice ok" data-testid="webhook-secret">
          Signing secret of <span class="mono">{secret.id}</span>, shown only now:{' '}
          <span class="mono">{secret.secret}</span>
        </p>
      )}
      {endpoints?.length === 0 && <p class="muted">No webhook endpoints.</p>}
      {endpoints?.map((e) => (
        <div key={e.id} class="queue" data-testid={`webhook-${e.id}`}>
          <h3>
            <span class="mono">{e.url}</span> <span class="muted small">{e.events.join(', ')}</span>{' '}
            <RunLink href={e.runUrl} />{' '}
            <button
              type="button"
              class="small-btn danger"
              data-testid="webhook-remove"
              onClick={() =>
                void run(`Removed the webhook to ${e.url}.`, () =>
                  call((ops) => ops.DELETE('/v1/ops/webhooks/{id}', { params: { path: { id: e.id } } })),
                )
              }
            >
              Remove
            </button>
          </h3>
          <table class="table">
            <thead>
              <tr>
                <th>Event</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Last error</th>
                <th>Updated</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(deliveries.get(e.id) ?? []).map((d) => (
                <tr key={d.eventId} data-testid="webhook-delivery" data-event-id={d.eventId} data-status={d.status}>
                  <td class="mono small">{d.eventId}</td>
                  <td data-testid="delivery-status">{d.status}</td>
                  <td data-testid="delivery-attempts">{d.attempts}</td>
                  <td class="small" data-testid="delivery-error">
                    {d.lastError ?? ''}
                  </td>
                  <td class="muted small">{time(d.updatedAt)}</td>
                  <td>
                    <button
                      type="button"
                      class="small-btn"
                      data-testid="redeliver"
                      onClick={() =>
                        void run(`Queued ${d.eventId} for ${e.url} again.`, () =>
                          call((ops) =>
                            ops.POST('/v1/ops/webhooks/{id}/deliveries/{eventId}/redeliver', {
                              params: { path: { id: e.id, eventId: d.eventId } },
                            }),
                          ),
                        )
                      }
                    >
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      <form
        class="inline-form"
        onSubmit={(ev) => {
          ev.preventDefault();
          const form = new FormData(ev.currentTarget);
          const url = String(form.get('url') ?? '').trim();
          // The API refuses an unknown type (400), which the notice then shows.
          const events = String(form.get('events') ?? '*')
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean) as NewWebhook['events'];
          void run(`Added a webhook to ${url}.`, async () => {
            const created = await call((ops) => ops.POST('/v1/ops/webhooks', { body: { url, events } }));
            if (created.secret) setSecret({ id: created.id, secret: created.secret });
          });
        }}
      >
        <input name="url" placeholder="https://example.com/hooks" aria-label="Webhook URL" data-testid="webhook-url" />
        <input
          name="events"
          defaultValue="*"
          aria-label="Event types, comma-separated, or * for all"
          data-testid="webhook-events"
        />
        <button type="submit" class="primary" data-testid="webhook-add">
          Add webhook
        </button>
      </form>
    </section>
  );
}
