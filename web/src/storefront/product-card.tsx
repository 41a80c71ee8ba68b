import { useState } from 'preact/hooks';
import type { Product } from '../api';
import { money } from '../format';

export type ProductMessage =
  | { readonly kind: 'ok' | 'info' | 'error' | 'busy'; readonly text: string }
  /** Waiting in a drop's line: nothing is reserved yet. */
  | { readonly kind: 'queued'; readonly position: number };

function availability(p: Product): { text: string; tone: 'good' | 'low' | 'out' | 'info' } {
  if (p.available > 3) return { text: `${p.available} available`, tone: 'good' };
  if (p.available > 0) return { text: `Only ${p.available} left`, tone: 'low' };
  if (p.policy === 'backorder') return { text: 'Backorder: ships when restocked', tone: 'info' };
  if (p.offerSeconds !== undefined) return { text: 'Sold out: join the waitlist', tone: 'out' };
  return { text: 'Sold out', tone: 'out' };
}

interface Props {
  readonly product: Product;
  readonly message: ProductMessage | undefined;
  /** `waitlist`: notify me, for a sold-out product with a waitlist. */
  readonly onAdd: (sku: string, quantity: number, waitlist: boolean) => Promise<void>;
}

export function ProductCard({ product: p, message, onAdd }: Props) {
  const [quantity, setQuantity] = useState(1);
  const { text, tone } = availability(p);
  const busy = message?.kind === 'busy' || message?.kind === 'queued';
  // Sold out with a waitlist: the shopper asks to be offered it when it returns (with stock, that is an add).
  const notify = p.available === 0 && p.offerSeconds !== undefined;
  return (
    <article class="card" data-testid={`product-${p.sku}`} data-sku={p.sku}>
      <h2>{p.name}</h2>
      <div class="sku">{p.sku}</div>
      <div class="price">{money(p.priceCents)}</div>
      {p.admitPerSecond !== undefined && (
        <div
          class="badge drop"
          data-testid="drop-badge"
          title={`A waiting room lets ${p.admitPerSecond} shoppers a second through, in arrival order`}
        >
          Drop: waiting room
        </div>
      )}
      <div class={`availability ${tone}`} data-testid="availability" data-available={p.available}>
        {text}
      </div>
      <div class="muted small">
        {p.reserved} in carts · {p.sold} sold
        {p.backordered > 0 && ` · ${p.backordered} backordered`}
        {(p.waitlisted ?? 0) > 0 && ` · ${p.waitlisted} on the waitlist`}
      </div>
      <form
        class="add"
        onSubmit={(e) => {
          e.preventDefault();
          void onAdd(p.sku, quantity, notify);
        }}
      >
        <input
          type="number"
          min={1}
          max={99}
          value={quantity}
          aria-label="Quantity"
          data-testid="quantity"
          onInput={(e) => setQuantity(Math.max(1, Number(e.currentTarget.value) || 1))}
        />
        {/* Enabled even when the view says sold out: it lags, and a hold may lapse; the API decides. */}
        {notify ? (
          <button type="submit" class="primary" disabled={busy} data-testid="notify-me">
            Notify me
          </button>
        ) : (
          <button type="submit" class="primary" disabled={busy} data-testid="add-to-cart">
            {p.available === 0 && p.policy === 'backorder' ? 'Backorder' : 'Add to cart'}
          </button>
        )}
      </form>
      {message && (
        <p class={`message ${message.kind}`} data-testid="product-message" data-kind={message.kind} role="status">
          {message.kind === 'queued' ? (
            <>
              You're in line: position <strong data-testid="queue-position">{message.position}</strong>. Nothing is
              reserved until it's your turn.
            </>
          ) : (
            message.text
          )}
        </p>
      )}
    </article>
  );
}
