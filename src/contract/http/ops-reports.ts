/** What ops read about the whole store: the overview with links to runs, and the checks' reports. */
import { Type, type Static } from 'typebox';
import { Counts, List, ref } from './common';
import { OrderStatus } from './orders';
import type { Balances } from '../../stock';

/** A SKU's ledgers replayed (`InvariantReport`): GET /v1/ops/invariants/:sku, and each of the check's `stock`. */
export const InvariantReport = Type.Object(
  {
    sku: Type.String(),
    ok: Type.Boolean(),
    violations: List(Type.String()),
    // The balances by state (available, incoming, held, sold, returned, repair, damaged, received...).
    totals: Type.Unsafe<Balances>(Counts),
    inTransit: Type.Optional(Type.Integer()),
    openHolds: Type.Optional(Type.Integer()),
    unrecorded: Type.Optional(Type.Integer()),
    entries: Type.Optional(Type.Integer()),
  },
  { $id: 'InvariantReport' },
);
export type InvariantReport = Static<typeof InvariantReport>;

/** GET /v1/ops/check (`SystemReport`). */
export const SystemReport = Type.Object(
  {
    ok: Type.Boolean(),
    violations: List(Type.String()),
    stock: List(ref(InvariantReport)),
    counts: Type.Object({ lines: Counts, orders: Counts, charges: Type.Integer(), refunds: Type.Integer() }),
    totals: Type.Object({
      chargedCents: Type.Integer(),
      refundedCents: Type.Integer(),
      ordersCents: Type.Integer(),
      sold: Counts,
    }),
  },
  { $id: 'SystemReport' },
);
export type SystemReport = Static<typeof SystemReport>;

export const Overview = Type.Object(
  {
    temporalUiUrl: Type.Optional(Type.String()),
    carts: List(Type.Object({ cartId: Type.String(), runUrl: Type.Optional(Type.String()) })),
    orders: List(Type.Object({ orderId: Type.String(), status: OrderStatus, runUrl: Type.Optional(Type.String()) })),
    /** Per SKU, the add-to-carts this API process refused from the ledger heads, without a workflow, since it started. */
    soldOutRefusals: List(Type.Object({ sku: Type.String(), count: Type.Integer({ minimum: 0 }) })),
  },
  { $id: 'Overview' },
);
export type Overview = Static<typeof Overview>;
