import type { Reorder } from '../api';
import type { OpsCall, RunAction } from './ops-console';
import { onQuantity, QuantityInput } from './quantity-input';
import { RunLink } from './run-link';

interface Props {
  readonly reorders: readonly Reorder[] | undefined;
  readonly call: OpsCall;
  readonly run: RunAction;
}

function ReorderActions({ reorder: r, call, run }: { reorder: Reorder; call: OpsCall; run: RunAction }) {
  const params = { path: { sku: r.sku } };
  if (r.status === 'awaiting_approval') {
    return (
      <form
        class="inline-form"
        onSubmit={onQuantity((quantity) => {
          void run(`Approved a reorder of ${quantity} × ${r.sku}.`, () =>
            call((ops) => ops.POST('/v1/reorders/{sku}/approve', { params, body: { quantity } })),
          );
        })}
      >
        <QuantityInput label="Quantity to order" testId="approve-quantity" defaultValue={r.quantity} />
        <button type="submit" class="primary" data-testid="approve">
          Approve
        </button>
        <input
          name="reason"
          placeholder="reason (optional)"
          aria-label="Reason to reject"
          data-testid="reject-reason"
        />
        <button
          type="button"
          class="danger"
          data-testid="reject"
          onClick={(e) => {
            const reason = String(new FormData(e.currentTarget.form!).get('reason') ?? '').trim();
            void run(`Rejected the reorder of ${r.sku}.`, () =>
              call((ops) => ops.POST('/v1/reorders/{sku}/reject', { params, body: reason ? { reason } : {} })),
            );
          }}
        >
          Reject
        </button>
      </form>
    );
  }
  if (r.status === 'approved') {
    return (
      <form
        class="inline-form"
        onSubmit={onQuantity((quantity) => {
          void run(`Received ${quantity} × ${r.sku}.`, () =>
            call((ops) => ops.POST('/v1/reorders/{sku}/receive', { params, body: { quantity } })),
          );
        })}
      >
        <QuantityInput label="Quantity received" testId="receive-quantity" defaultValue={r.quantity} />
        <button type="submit" data-testid="receive">
          Receive
        </button>
      </form>
    );
  }
  return null;
}

export function ReordersTable({ reorders, call, run }: Props) {
  return (
    <section class="panel" aria-label="Reorders" data-testid="reorders">
      <h2>
        Reorders <span class="muted small">low stock asks a human; nothing is reordered automatically</span>
      </h2>
      {reorders?.length === 0 && <p class="muted">No reorders. Products below their threshold show up here.</p>}
      {reorders && reorders.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>SKU</th>
              <th>Status</th>
              <th class="num">Quantity</th>
              <th class="num">Available at request</th>
              <th>Action</th>
              <th>Run</th>
            </tr>
          </thead>
          <tbody>
            {reorders.map((r) => (
              <tr key={r.workflowId} data-testid={`reorder-${r.sku}`} data-status={r.status}>
                <td class="mono">{r.sku}</td>
                <td>
                  <span class={`badge ${r.status}`} data-testid="reorder-status">
                    {r.status.replaceAll('_', ' ')}
                  </span>
                </td>
                <td class="num">{r.quantity}</td>
                <td class="num">{r.availableAtRequest}</td>
                <td>
                  <ReorderActions key={r.status} reorder={r} call={call} run={run} />
                </td>
                <td>
                  <RunLink href={r.runUrl} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
