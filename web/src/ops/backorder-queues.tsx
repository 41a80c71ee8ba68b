import type { Backorders } from '../api';
import { time } from '../format';
import type { OpsCall, RunAction } from './ops-console';

interface Props {
  readonly queues: readonly Backorders[];
  /** The SKUs whose queue is a waitlist (strict, with an offer window): shoppers offered units, not buyers. */
  readonly waitlists: ReadonlySet<string>;
  readonly call: OpsCall;
  readonly run: RunAction;
}

export function BackorderQueues({ queues, waitlists, call, run }: Props) {
  return (
    <section class="panel" aria-label="Backorders" data-testid="backorders">
      <h2>
        Backorder queues and waitlists <span class="muted small">served first come, first served from restocks</span>
      </h2>
      {queues.length === 0 && <p class="muted">No backorder or waitlist products.</p>}
      {queues.map((q) => {
        const waitlist = waitlists.has(q.sku);
        return (
          <div
            key={q.sku}
            class="queue"
            data-testid={`backorders-${q.sku}`}
            data-kind={waitlist ? 'waitlist' : 'backorders'}
          >
            <h3 class="mono">
              {q.sku}{' '}
              <span class="muted small">
                {waitlist ? 'waitlist' : 'backorders'}: {q.waiting.length} waiting
              </span>
            </h3>
            {q.waiting.length > 0 && (
              <ol class="queue-list">
                {q.waiting.map((b, position) => (
                  <li key={b.holdId} data-testid="backorder" data-hold-id={b.holdId}>
                    <span class="mono small">{b.holdId}</span>
                    <span>{b.quantity} unit(s)</span>
                    <span class="muted small">since {time(b.arrivedAt)}</span>
                    <span class="queue-actions">
                      <button
                        type="button"
                        class="small-btn"
                        disabled={position === 0}
                        data-testid="backorder-first"
                        onClick={() =>
                          void run(`Moved ${b.holdId} to the front of ${q.sku}'s queue.`, () =>
                            call((ops) =>
                              ops.POST('/v1/products/{sku}/backorders/{holdId}/position', {
                                params: { path: { sku: q.sku, holdId: b.holdId } },
                                body: { position: 0 },
                              }),
                            ),
                          )
                        }
                      >
                        Move first
                      </button>
                      <button
                        type="button"
                        class="small-btn danger"
                        data-testid="backorder-cancel"
                        onClick={() =>
                          void run(`Cancelled backorder ${b.holdId}.`, () =>
                            call((ops) =>
                              ops.DELETE('/v1/products/{sku}/backorders/{holdId}', {
                                params: { path: { sku: q.sku, holdId: b.holdId } },
                              }),
                            ),
                          )
                        }
                      >
                        Cancel
                      </button>
                    </span>
                  </li>
                ))}
              </ol>
            )}
          </div>
        );
      })}
    </section>
  );
}
