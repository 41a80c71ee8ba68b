import { Type, type Static } from 'typebox';
import { Id, List, StringEnum } from './common';

export const OrderStatus = StringEnum(['pending', 'completed', 'failed']);

export const OrderParams = Type.Object({ orderId: Id });
export type OrderParams = Static<typeof OrderParams>;

export const Order = Type.Object(
  {
    orderId: Type.String(),
    cartId: Type.Optional(Type.String()),
    status: OrderStatus,
    reason: Type.Optional(Type.String()),
    totalCents: Type.Optional(Type.Integer()),
    lines: List(
      Type.Object({
        holdId: Type.Optional(Type.String()),
        sku: Type.Optional(Type.String()),
        quantity: Type.Optional(Type.Integer()),
        unitPriceCents: Type.Optional(Type.Integer()),
      }),
    ),
  },
  { $id: 'Order' },
);
export type Order = Static<typeof Order>;
