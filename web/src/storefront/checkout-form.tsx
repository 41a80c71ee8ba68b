import { useState } from 'preact/hooks';
import type { CartLine, Product } from '../api';
import { money } from '../format';

/** The fake payment provider's test tokens (Stripe's names). */
const paymentTokens = [
  { token: 'tok_visa', label: 'Visa •••• 4242 (succeeds)' },
  { token: 'tok_chargeDeclined', label: 'Card declined' },
  { token: 'tok_timeout', label: 'Provider times out (~20 s)' },
] as const;

interface Props {
  readonly lines: readonly CartLine[];
  readonly products: ReadonlyMap<string, Product>;
  readonly onCheckout: (paymentToken: string) => Promise<void>;
}

export function CheckoutForm({ lines, products, onCheckout }: Props) {
  const [busy, setBusy] = useState(false);
  const total = lines.reduce((sum, l) => sum + l.quantity * (products.get(l.sku)?.priceCents ?? 0), 0);
  return (
    <form
      class="panel checkout"
      data-testid="checkout-form"
      onSubmit={(e) => {
        e.preventDefault();
        const token = new FormData(e.currentTarget).get('paymentToken') as string;
        setBusy(true);
        void onCheckout(token).finally(() => setBusy(false));
      }}
    >
      <h2>Checkout</h2>
      <label>
        Payment
        <select name="paymentToken" data-testid="payment-token">
          {paymentTokens.map((t) => (
            <option key={t.token} value={t.token}>
              {t.label}
            </option>
          ))}
        </select>
      </label>
      <div class="total">
        Total <strong data-testid="cart-total">{money(total)}</strong>
      </div>
      <button type="submit" class="primary" disabled={busy} data-testid="place-order">
        {busy ? 'Placing order…' : 'Place order'}
      </button>
    </form>
  );
}
