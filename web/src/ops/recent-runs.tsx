import type { Overview } from '../api';
import { RunLink } from './run-link';

/** The newest runs shown of each kind; the Web UI lists them all. */
const shown = 8;

function More({ total, overview }: { total: number; overview: Overview }) {
  if (total <= shown) return null;
  return (
    <p class="muted small">
      {total - shown} more
      {overview.temporalUiUrl && (
        <>
          {' '}
          in the{' '}
          <a href={overview.temporalUiUrl} target="_blank" rel="noreferrer">
            Temporal Web UI
          </a>
        </>
      )}
    </p>
  );
}

export function RecentRuns({ overview }: { readonly overview: Overview | undefined }) {
  return (
    <section class="panel" aria-label="Recent runs" data-testid="recent-runs">
      <h2>Recent orders and carts</h2>
      <h3>Orders</h3>
      {overview?.orders.length === 0 && <p class="muted">None yet.</p>}
      <ul class="runs">
        {overview?.orders.slice(0, shown).map((o) => (
          <li key={o.orderId} data-testid="recent-order" data-order-id={o.orderId}>
            <span class="mono small">{o.orderId}</span>
            <span class={`badge ${o.status.toLowerCase()}`}>{o.status.toLowerCase()}</span>
            <RunLink href={o.runUrl} />
          </li>
        ))}
      </ul>
      {overview && <More total={overview.orders.length} overview={overview} />}
      <h3>Carts</h3>
      {overview?.carts.length === 0 && <p class="muted">None yet.</p>}
      <ul class="runs">
        {overview?.carts.slice(0, shown).map((c) => (
          <li key={c.cartId} data-testid="recent-cart" data-cart-id={c.cartId}>
            <span class="mono small">{c.cartId}</span>
            <RunLink href={c.runUrl} />
          </li>
        ))}
      </ul>
      {overview && <More total={overview.carts.length} overview={overview} />}
    </section>
  );
}
