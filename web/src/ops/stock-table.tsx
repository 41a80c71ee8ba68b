import { idempotencyKey, type Product, type StockState } from '../api';
import { money } from '../format';
import type { OpsCall, RunAction } from './ops-console';
import { onQuantity, QuantityInput } from './quantity-input';

const states: readonly StockState[] = ['available', 'returned', 'repair', 'damaged'];

interface Props {
  readonly products: readonly Product[] | undefined;
  /** Per SKU, add-to-carts the API refused at once from the ledger (sold out), since the API started. */
  readonly refusals: ReadonlyMap<string, number>;
  readonly call: OpsCall;
  readonly run: RunAction;
}

interface RowProps {
  readonly product: Product;
  readonly refused: number;
  readonly call: OpsCall;
  readonly run: RunAction;
}

function StockRow({ product: p, refused, call, run }: RowProps) {
  const path = { sku: p.sku };
  const cells: [string, number][] = [
    ['available', p.available],
    ['reserved', p.reserved],
    ['sold', p.sold],
    ['refused', refused],
    ['backordered', p.backordered],
    ['incoming', p.incoming ?? 0],
    ['returned', p.nonSellable.returned ?? 0],
    ['repair', p.nonSellable.repair ?? 0],
    ['damaged', p.nonSellable.damaged ?? 0],
  ];
  return (
    <tr data-testid={`stock-${p.sku}`}>
      <td class="product-cell">
        <strong>{p.name}</strong>
        <div class="mono small muted">
          {p.sku} · {money(p.priceCents)} · {p.policy}
          {p.admitPerSecond !== undefined && ` · waiting room ${p.admitPerSecond}/s`}
        </div>
      </td>
      {cells.map(([name, value]) => (
        <td key={name} class={`num ${value === 0 ? 'zero' : ''}`} data-testid={`stock-${name}`}>
          {value}
        </td>
      ))}
      <td class="stock-actions">
        <form
          class="inline-form"
          onSubmit={onQuantity((quantity, form) => {
            void run(`Restocking ${quantity} × ${p.sku}.`, () =>
              call((ops) =>
                ops.POST('/v1/products/{sku}/restock', {
                  params: { path, header: { 'idempotency-key': idempotencyKey() } },
                  body: { quantity },
                }),
              ),
            ).then((ok) => ok && form.reset());
          })}
        >
          <QuantityInput label="Units to restock" testId="restock-quantity" placeholder="qty" required />
          <button type="submit" data-testid="restock">
            Restock
          </button>
        </form>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const data = new FormData(form);
            const body = {
              quantity: Number(data.get('quantity')),
              from: data.get('from') as StockState,
              to: data.get('to') as StockState,
            };
            void run(`Moved ${body.quantity} × ${p.sku} from ${body.from} to ${body.to}.`, () =>
              call((ops) =>
                ops.POST('/v1/products/{sku}/moves', {
                  params: { path, header: { 'idempotency-key': idempotencyKey() } },
                  body,
                }),
              ),
            ).then((ok) => {
              // Keep the chosen states for the next move; only the quantity is used up.
              if (ok) (form.elements.namedItem('quantity') as HTMLInputElement).value = '';
            });
          }}
        >
          <input name="quantity" type="number" min={1} required placeholder="qty" aria-label="Units to move" />
          <select name="from" aria-label="From state">
            {states.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
          →
          <select name="to" aria-label="To state">
            {states.map((s) => (
              <option key={s} selected={s === 'damaged'}>
                {s}
              </option>
            ))}
          </select>
          <button type="submit" data-testid="move">
            Move
          </button>
        </form>
      </td>
    </tr>
  );
}

export function StockTable({ products, refusals, call, run }: Props) {
  return (
    <section class="panel" aria-label="Stock" data-testid="stock">
      <h2>Stock by state</h2>
      {products?.length === 0 && <p class="muted">No products yet: create one below.</p>}
      {products && products.length > 0 && (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th>Product</th>
                <th class="num">Available</th>
                <th class="num">Reserved</th>
                <th class="num">Sold</th>
                <th class="num" title="Add-to-carts refused at once (sold out), since the API started">
                  Refused
                </th>
                <th class="num">Backordered</th>
                <th class="num" title="Received for waiting backorders">
                  Incoming
                </th>
                <th class="num">Returned</th>
                <th class="num">Repair</th>
                <th class="num">Damaged</th>
                <th>Restock · move between states</th>
              </tr>
            </thead>
            <tbody>
              {products.map((p) => (
                <StockRow key={p.sku} product={p} refused={refusals.get(p.sku) ?? 0} call={call} run={run} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
