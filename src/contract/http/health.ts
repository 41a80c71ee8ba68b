import { Type, type Static } from 'typebox';
import { StringEnum } from './common';

/** GET /livez. */
export const Liveness = Type.Object({ status: StringEnum(['ok']) });
export type Liveness = Static<typeof Liveness>;

/** GET /readyz and /health: 200 when Temporal and every shard answer, 503 naming what does not. */
export const Readiness = Type.Object(
  { status: StringEnum(['ok', 'degraded']), temporal: Type.Boolean(), shards: Type.Array(Type.Boolean()) },
  { $id: 'Readiness' },
);
export type Readiness = Static<typeof Readiness>;
