import { Type, type Static } from 'typebox';
import { Id, List, ref, Sku, StringEnum } from './common';

export const LineStatus = StringEnum(['pending', 'purchased', 'expired', 'removed', 'backordered', 'waitlisted']);

export const CartParams = Type.Object({ cartId: Id });
export type CartParams = Static<typeof CartParams>;
export const LineParams = Type.Object({ cartId: Id, holdId: Id });
export type LineParams = Static<typeof LineParams>;

/** A cart line as add, change and remove answer it. */
export const Hold = Type.Object(
  {
    holdId: Type.String(),
    // A refusal is not a hold: it is 409 out_of_stock.
    status: StringEnum(['held', 'backordered', 'waitlisted', 'removed']),
    quantity: Type.Optional(Type.Integer()),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { $id: 'Hold' },
);
export type Hold = Static<typeof Hold>;

/**
 * Not yet let through a drop's waiting room: nothing is reserved, and nothing is decided. Ask again with the
 * same Idempotency-Key and body after Retry-After; the line keeps its place.
 */
export const Queued = Type.Object(
  {
    status: Type.Literal('queued'),
    holdId: Type.String(),
    sku: Type.String(),
    position: Type.Integer({ minimum: 1, description: 'Shoppers to be let in before this one, plus one' }),
    retryAfterSeconds: Type.Integer({ minimum: 1 }),
  },
  { $id: 'Queued' },
);
export type Queued = Static<typeof Queued>;

export const CartLine = Type.Object(
  {
    holdId: Type.String(),
    sku: Type.String(),
    quantity: Type.Integer(),
    status: LineStatus,
    expiresAt: Type.Optional(Type.String()),
    orderId: Type.Optional(Type.String()),
    joinedAt: Type.Optional(
      Type.String({ format: 'date-time', description: "When the line joined the product's waitlist" }),
    ),
    offeredAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'When the waitlist offered the line its units: held for the shopper until expiresAt, claimed by ' +
          'checking out before then',
      }),
    ),
  },
  { $id: 'CartLine' },
);
export type CartLine = Static<typeof CartLine>;

/** A storefront's own id of a signed-in customer (binding a cart to one needs the ops token). */
const customerIdPattern = '^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$';

/** No body (or `null`) creates an anonymous cart; a customer's needs the ops token (the storefront's backend). */
export const CreateCartBody = Type.Union([
  Type.Object(
    {
      customerId: Type.Optional(
        Type.String({
          pattern: customerIdPattern,
          description:
            "The customer whose per-customer limits (a product's maxPerCustomer) count this cart with all their " +
            "others; only with the ops token. Fixed for the cart's life (it is part of the cart's token)",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
export type CreateCartBody = Static<typeof CreateCartBody>;

export const CreatedCart = Type.Object({
  cartId: Type.String(),
  token: Type.String(),
  customerId: Type.Optional(Type.String()),
});
export type CreatedCart = Static<typeof CreatedCart>;

export const Cart = Type.Object({ cartId: Type.String(), lines: List(ref(CartLine)) });
export type Cart = Static<typeof Cart>;

/** A line's quantity: the bound is a setting (MAX_LINE_QUANTITY). */
const lineQuantity = (max: number) => Type.Integer({ minimum: 1, maximum: max });

export const addCartItemBody = (maxLineQuantity: number) =>
  Type.Object(
    {
      sku: Sku,
      quantity: lineQuantity(maxLineQuantity),
      waitlist: Type.Optional(
        Type.Boolean({
          description:
            'Notify me: if the product is sold out and has a waitlist (offerSeconds), join it (201 waitlisted) ' +
            'instead of being refused; units that come back are offered in join order as a hold for ' +
            'offerSeconds. Without a waitlist, or with stock there, the same as without it',
        }),
      ),
    },
    { additionalProperties: false },
  );
export type AddCartItemBody = Static<ReturnType<typeof addCartItemBody>>;

export const changeCartItemBody = (maxLineQuantity: number) =>
  Type.Object({ quantity: lineQuantity(maxLineQuantity) }, { additionalProperties: false });
export type ChangeCartItemBody = Static<ReturnType<typeof changeCartItemBody>>;

export const CheckoutBody = Type.Object(
  // A provider token (Stripe's tok_/pm_ ids); anything else is a malformed request, not a decline.
  { paymentToken: Type.String({ pattern: '^(tok|pm)_[A-Za-z0-9]{1,100}$' }) },
  { additionalProperties: false },
);
export type CheckoutBody = Static<typeof CheckoutBody>;

export const CheckoutAccepted = Type.Object({ orderId: Type.String() });
export type CheckoutAccepted = Static<typeof CheckoutAccepted>;
