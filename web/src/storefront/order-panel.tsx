import type { Order } from '../api';
import { money } from '../format';

interface Props {
  readonly orderId: string;
  /** Undefined until the first answer. */
  readonly order: Order | undefined;
  readonly onNewCart: () => void;
}

export function OrderPanel({ orderId, order, onNewCart }: Props) {
  const status = order?.status ?? 'pending';
  return (
    <section class={`panel order ${status}`} aria-label="Order" data-testid="order">
      <h2>Order</h2>
      <div class="muted small mono" data-testid="order-id">
        {orderId}
      </div>
      <p class="order-status" data-testid="order-status" data-status={status} role="status">
        {status === 'pending' && 'Processing: locking your items and charging your card…'}
        {status === 'completed' && `Thank you! Order complete, ${money(order!.totalCents ?? 0)} paid.`}
        {status === 'failed' && `Order failed: ${order!.reason ?? 'the payment did not go through'}.`}
      </p>
      {status === 'failed' && <p class="muted small">Items still held in your cart can be bought with another card.</p>}
      {order && order.lines.length > 0 && (
        <ul class="order-lines">
          {order.lines.map((l) => (
            <li key={l.holdId}>
              {l.quantity} × {l.sku} <span class="muted">{money(l.unitPriceCents ?? 0)}</span>
            </li>
          ))}
        </ul>
      )}
      {status === 'completed' && (
        <button type="button" onClick={onNewCart} data-testid="new-cart">
          Start a new cart
        </button>
      )}
    </section>
  );
}
