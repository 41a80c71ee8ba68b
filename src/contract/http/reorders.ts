import { Type, type Static } from 'typebox';
import { List, ref, StringEnum } from './common';

export const Reorder = Type.Object(
  {
    sku: Type.String(),
    // `unknown` in a list when the run did not answer in time.
    status: StringEnum(['awaiting_approval', 'approved', 'rejected', 'received', 'unknown']),
    quantity: Type.Optional(Type.Integer()),
    availableAtRequest: Type.Optional(Type.Integer()),
    decidedBy: Type.Optional(Type.String()),
    purchaseOrderId: Type.Optional(Type.String()),
    workflowId: Type.Optional(Type.String()),
    runUrl: Type.Optional(Type.String()),
  },
  { $id: 'Reorder' },
);
export type Reorder = Static<typeof Reorder>;

export const ReorderList = Type.Object({ reorders: List(ref(Reorder)) });
export type ReorderList = Static<typeof ReorderList>;

const optionalQuantity = Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 }));

export const ApproveReorderBody = Type.Object({ quantity: optionalQuantity }, { additionalProperties: false });
export type ApproveReorderBody = Static<typeof ApproveReorderBody>;
export const RejectReorderBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type RejectReorderBody = Static<typeof RejectReorderBody>;
export const ReceiveReorderBody = Type.Object({ quantity: optionalQuantity }, { additionalProperties: false });
export type ReceiveReorderBody = Static<typeof ReceiveReorderBody>;
