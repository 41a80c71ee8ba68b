import type { Cart, CartLine, Product } from '../api';
import { countdown, money } from '../format';
import { useNow } from '../hooks';

const statusText: Record<CartLine['status'], string> = {
  pending: 'held',
  backordered: 'backordered',
  purchased: 'purchased',
  expired: 'hold expired',
  removed: 'removed',
  waitlisted: 'on the waitlist',
};

interface Props {
  readonly cart: Cart | undefined;
  readonly products: ReadonlyMap<string, Product>;
  readonly error: string | undefined;
  /** A checkout is running: the lines are the order's now. */
  readonly locked: boolean;
  readonly onQuantity: (holdId: string, quantity: number) => Promise<void>;
  readonly onRemove: (holdId: string) => Promise<void>;
}

export function CartPanel({ cart, products, error, locked, onQuantity, onRemove }: Props) {
  const now = useNow();
  const lines = cart?.lines.filter((l) => l.status !== 'removed') ?? [];
  return (
    <section class="panel" aria-label="Cart" data-testid="cart">
      <h2>Your cart</h2>
      {error && (
        <p class="notice error" data-testid="cart-error">
          {error}
        </p>
      )}
      {lines.length === 0 && <p class="muted">Empty. Add something before it sells out.</p>}
      <ul class="lines">
        {lines.map((line) => {
          const product = products.get(line.sku);
          const editable = !locked && (line.status === 'pending' || line.status === 'backordered');
          // An offer from the waitlist: held for this shopper for a short window, claimed by checking out.
          const offered = line.status === 'pending' && line.offeredAt !== undefined;
          return (
            <li
              key={line.holdId}
              class={`line ${line.status}`}
              data-testid="cart-line"
              data-hold-id={line.holdId}
              data-sku={line.sku}
              data-status={line.status}
            >
              <div class="line-main">
                <strong>{product?.name ?? line.sku}</strong>
                <span class="muted small">
                  {line.quantity} × {product ? money(product.priceCents) : line.sku}
                </span>
              </div>
              <div class="line-state">
                <span class={`badge ${line.status}`} data-testid="line-status">
                  {offered ? 'offered to you' : statusText[line.status]}
                </span>
                {line.status === 'pending' && line.expiresAt && (
                  <span class="countdown" data-testid="countdown" title={`Held until ${line.expiresAt}`}>
                    {countdown(line.expiresAt, now)}
                  </span>
                )}
                {offered && (
                  <span class="muted small" data-testid="offer">
                    Back in stock and reserved for you: check out before the countdown ends to claim it.
                  </span>
                )}
              </div>
              {!locked && line.status === 'waitlisted' && (
                <div class="line-actions">
                  <button
                    type="button"
                    class="small-btn link"
                    data-testid="leave-waitlist"
                    onClick={() => void onRemove(line.holdId)}
                  >
                    Leave the waitlist
                  </button>
                </div>
              )}
              {editable && (
                <div class="line-actions">
                  <button
                    type="button"
                    class="small-btn"
                    aria-label="One less"
                    disabled={line.quantity <= 1}
                    onClick={() => void onQuantity(line.holdId, line.quantity - 1)}
                  >
                    −
                  </button>
                  <button
                    type="button"
                    class="small-btn"
                    aria-label="One more"
                    onClick={() => void onQuantity(line.holdId, line.quantity + 1)}
                  >
                    +
                  </button>
                  <button
                    type="button"
                    class="small-btn link"
                    data-testid="remove-line"
                    onClick={() => void onRemove(line.holdId)}
                  >
                    Remove
                  </button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
