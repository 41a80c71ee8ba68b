import type { NewProduct } from '../api';
import type { OpsCall, RunAction } from './ops-console';

export function NewProductForm({ call, run }: { readonly call: OpsCall; readonly run: RunAction }) {
  return (
    <form
      class="panel stacked"
      aria-label="New product"
      data-testid="new-product"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const data = new FormData(form);
        // Empty optional fields are left out (JSON drops undefined): the API's defaults apply.
        const number = (field: string) => (data.get(field) ? Number(data.get(field)) : undefined);
        const body: NewProduct = {
          sku: String(data.get('sku')).trim(),
          name: String(data.get('name')).trim(),
          policy: data.get('policy') as NewProduct['policy'],
          priceCents: Number(data.get('priceCents')),
          quantity: Number(data.get('quantity')),
          buckets: number('buckets'),
          lowStockThreshold: number('lowStockThreshold'),
          reorderQuantity: number('reorderQuantity'),
          admitPerSecond: number('admitPerSecond'),
        };
        void run(`Created ${body.sku}.`, () => call((ops) => ops.POST('/v1/products', { body }))).then(
          (ok) => ok && form.reset(),
        );
      }}
    >
      <h2>New product</h2>
      <label>
        SKU <input name="sku" required pattern="[A-Za-z0-9_.\-]+" data-testid="new-sku" />
      </label>
      <label>
        Name <input name="name" required data-testid="new-name" />
      </label>
      <label>
        Price (cents) <input name="priceCents" type="number" min={0} required data-testid="new-price" />
      </label>
      <label>
        Units <input name="quantity" type="number" min={0} required data-testid="new-quantity" />
      </label>
      <label>
        Policy
        <select name="policy" data-testid="new-policy">
          <option value="strict">strict: refuse when sold out</option>
          <option value="backorder">backorder: queue shoppers</option>
        </select>
      </label>
      <label>
        Buckets <input name="buckets" type="number" min={1} placeholder="8" />
      </label>
      <label>
        Low-stock threshold <input name="lowStockThreshold" type="number" min={0} data-testid="new-threshold" />
      </label>
      <label>
        Reorder quantity <input name="reorderQuantity" type="number" min={0} data-testid="new-reorder-quantity" />
      </label>
      <label title="A drop: add-to-carts wait in a line that lets this many shoppers a second through">
        Waiting room (shoppers/s){' '}
        <input
          name="admitPerSecond"
          type="number"
          min={1}
          max={10000}
          placeholder="none"
          data-testid="new-admit-per-second"
        />
      </label>
      <button type="submit" class="primary" data-testid="create-product">
        Create product
      </button>
    </form>
  );
}
