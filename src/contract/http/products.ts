import { Type, type Static } from 'typebox';
import { List, ref, Sku, StringEnum } from './common';

export const StockPolicy = StringEnum(['strict', 'backorder']);
/** The states ops move units between. */
export const StockState = StringEnum(['available', 'returned', 'repair', 'damaged']);

export const SkuParams = Type.Object({ sku: Sku });
export type SkuParams = Static<typeof SkuParams>;

/** A product with live stock (the document's `Product`). */
export const ProductView = Type.Object(
  {
    sku: Type.String(),
    name: Type.String(),
    priceCents: Type.Integer(),
    policy: StockPolicy,
    available: Type.Integer(),
    reserved: Type.Integer(),
    sold: Type.Integer(),
    backordered: Type.Integer(),
    /** Units the waitlist's shoppers wait for (products with a waitlist). */
    waitlisted: Type.Optional(Type.Integer()),
    incoming: Type.Optional(Type.Integer()),
    nonSellable: Type.Object({
      returned: Type.Optional(Type.Integer()),
      repair: Type.Optional(Type.Integer()),
      damaged: Type.Optional(Type.Integer()),
    }),
    lowStockThreshold: Type.Optional(Type.Integer()),
    reorderQuantity: Type.Optional(Type.Integer()),
    buckets: Type.Optional(Type.Integer()),
    admitPerSecond: Type.Optional(Type.Integer()),
    maxPerCustomer: Type.Optional(Type.Integer()),
    offerSeconds: Type.Optional(Type.Integer()),
  },
  { $id: 'Product' },
);
export type ProductView = Static<typeof ProductView>;

export const ProductList = Type.Object({ products: List(ref(ProductView)) });
export type ProductList = Static<typeof ProductList>;

const units = Type.Integer({ minimum: 1, maximum: 1_000_000 });

export const CreateProductBody = Type.Object(
  {
    sku: Sku,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    priceCents: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
    quantity: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    policy: StockPolicy,
    buckets: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        description:
          'Escrow buckets the stock is split into. Default: two per writer (4 writers assumed) and at least one ' +
          'per shard, but no more than leaves 8 units in each (see docs/architecture.md, "How many buckets")',
      }),
    ),
    lowStockThreshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    reorderQuantity: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    maxPerCustomer: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description:
          'The most units one customer may hold and have bought at once, over all their carts and orders (an ' +
          'anonymous cart counts alone); an add or a quantity increase past it is 409 limit_reached. Strict ' +
          'products only',
      }),
    ),
    offerSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86_400,
        description:
          'A waitlist (strict products only): while sold out, shoppers may join it (add to cart with waitlist: ' +
          'true); units that come back are offered to them in join order, each offer held this many seconds and ' +
          'passed to the next if not bought in time. Absent: no waitlist',
      }),
    ),
    admitPerSecond: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        description:
          'A waiting room for a drop: shoppers let through to the stock each second, in arrival order. The ' +
          'others are answered 202 with their position and Retry-After, and ask again. Absent: no waiting room',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateProductBody = Static<typeof CreateProductBody>;

export const RestockBody = Type.Object({ quantity: units }, { additionalProperties: false });
export type RestockBody = Static<typeof RestockBody>;

export const Restocked = Type.Object({ sku: Type.String(), quantity: Type.Integer(), opId: Type.String() });
export type Restocked = Static<typeof Restocked>;

export const MoveBody = Type.Object(
  { quantity: units, from: StockState, to: StockState },
  { additionalProperties: false },
);
export type MoveBody = Static<typeof MoveBody>;

export const Moved = Type.Object({ sku: Type.String(), quantity: Type.Integer(), from: StockState, to: StockState });
export type Moved = Static<typeof Moved>;
