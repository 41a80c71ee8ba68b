import { Type, type Static } from 'typebox';
import { LineStatus } from './carts';
import { Id, List, Sku } from './common';

export const BackorderParams = Type.Object({ sku: Sku, holdId: Id });
export type BackorderParams = Static<typeof BackorderParams>;

export const BackorderQueue = Type.Object(
  {
    sku: Type.String(),
    waiting: List(Type.Object({ holdId: Type.String(), quantity: Type.Integer(), arrivedAt: Type.String() })),
    filled: Type.Integer(),
  },
  { $id: 'BackorderQueue' },
);
export type BackorderQueue = Static<typeof BackorderQueue>;

export const CancelledBackorder = Type.Object({ holdId: Type.String(), status: LineStatus });
export type CancelledBackorder = Static<typeof CancelledBackorder>;

export const ReprioritiseBody = Type.Object(
  { position: Type.Integer({ minimum: 0, maximum: 1_000_000 }) },
  { additionalProperties: false },
);
export type ReprioritiseBody = Static<typeof ReprioritiseBody>;

export const Reprioritised = Type.Object({ sku: Type.String(), holdId: Type.String(), position: Type.Integer() });
export type Reprioritised = Static<typeof Reprioritised>;
