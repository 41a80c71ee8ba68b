import { ApiError, type ApiClient, type NewProduct, type ProductView } from './api-client';
import type { ApiCommand } from './commands';
import { price, table } from './output';

/**
 * A demo product: every field spelled out but a per-customer limit and a waitlist, which no demo product has,
 * and a waiting room's rate, which only the drop has.
 */
type DemoProduct = Required<Omit<NewProduct, 'maxPerCustomer' | 'admitPerSecond' | 'offerSeconds'>> &
  Pick<NewProduct, 'admitPerSecond'>;

/**
 * The demo catalogue: strict SKUs, one of them nearly sold out (and asking for a reorder when it runs low), and
 * one sold on backorder, and a drop behind a waiting room. Every field is spelled out (a waiting room's rate is
 * absent for no waiting room), so an existing product is compared with all of it.
 */
export const demoCatalogue: readonly DemoProduct[] = [
  {
    sku: 'demo-poster',
    name: 'Screen-printed poster',
    priceCents: 2500,
    quantity: 40,
    policy: 'strict',
    buckets: 4,
    lowStockThreshold: 0,
    reorderQuantity: 0,
  },
  {
    sku: 'demo-signed-print',
    name: 'Signed print',
    priceCents: 12_000,
    quantity: 3,
    policy: 'strict',
    buckets: 2,
    lowStockThreshold: 1,
    reorderQuantity: 5,
  },
  {
    sku: 'demo-mug',
    name: 'Enamel mug',
    priceCents: 1800,
    quantity: 100,
    policy: 'strict',
    buckets: 8,
    lowStockThreshold: 0,
    reorderQuantity: 0,
  },
  {
    sku: 'demo-vinyl',
    name: 'Vinyl record (pre-order)',
    priceCents: 3200,
    quantity: 0,
    policy: 'backorder',
    buckets: 2,
    lowStockThreshold: 0,
    reorderQuantity: 0,
  },
  {
    sku: 'demo-drop-sneaker',
    name: 'Sneaker drop (waiting room)',
    priceCents: 18_000,
    quantity: 20,
    policy: 'strict',
    buckets: 4,
    lowStockThreshold: 0,
    reorderQuantity: 0,
    admitPerSecond: 2,
  },
];

type Seeded = 'created' | 'exists' | 'conflict';

function sameDefinition(product: ProductView, wanted: DemoProduct): boolean {
  return (
    product.name === wanted.name &&
    product.priceCents === wanted.priceCents &&
    product.policy === wanted.policy &&
    product.buckets === wanted.buckets &&
    (product.lowStockThreshold ?? 0) === wanted.lowStockThreshold &&
    (product.reorderQuantity ?? 0) === wanted.reorderQuantity &&
    product.admitPerSecond === wanted.admitPerSecond &&
    product.maxPerCustomer === undefined &&
    product.offerSeconds === undefined
  );
}

/** Creates one demo product unless it exists; an existing one is left as it is, its stock included. */
async function seedOne(client: ApiClient, wanted: DemoProduct): Promise<[Seeded, ProductView]> {
  try {
    const existing = await client.product(wanted.sku);
    return [sameDefinition(existing, wanted) ? 'exists' : 'conflict', existing];
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'unknown_product')) throw err;
  }
  return ['created', await client.createProduct(wanted)];
}

export const seedCommand: ApiCommand = {
  words: ['seed'],
  usage: '',
  summary: 'create a demo catalogue (strict and backorder SKUs); running it again changes nothing',
  params: [],
  async run(client) {
    const results: { seeded: Seeded; product: ProductView }[] = [];
    // One at a time, in catalogue order: four requests, and the output follows the list.
    for (const wanted of demoCatalogue) {
      const [seeded, product] = await seedOne(client, wanted);
      results.push({ seeded, product });
    }
    const conflicts = results.filter((r) => r.seeded === 'conflict').map((r) => r.product.sku);
    const rows = results.map(({ seeded, product: p }) => ({
      seeded,
      sku: p.sku,
      name: p.name,
      price: price(p.priceCents),
      policy: p.policy,
      available: p.available,
    }));
    const lines = [table(rows, 'no demo products')];
    if (conflicts.length > 0) {
      lines.push(`${conflicts.join(', ')}: another product with this SKU exists; it was left as it is`);
    }
    return {
      data: results.map(({ seeded, product }) => ({ seeded, ...product })),
      text: lines.join('\n'),
      exitCode: conflicts.length > 0 ? 1 : 0,
    };
  },
};
