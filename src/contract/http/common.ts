/**
 * The building blocks of the HTTP contract: ids, SKUs, the idempotency headers, and the helpers that keep the
 * OpenAPI document as it was written by hand (string enums as `enum`, counts as `additionalProperties`, named
 * components referenced as `<$id>#`). Each schema is also its type: `Static<typeof Schema>`.
 */
import { Type, type Static, type TSchema, type TUnsafe } from 'typebox';

/** A string enum as `{ type: 'string', enum }` (TypeBox's own Enum leaves out the type). */
export const StringEnum = <const T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: values }) as TUnsafe<T[number]> & { readonly enum: T };

/** An array in a response: the handler may answer a readonly one. */
export const List = <T extends TSchema>(items: T) => Type.Immutable(Type.Array(items));

/** Counts by name (`{ [name]: integer }`). */
export const Counts = Type.Unsafe<Record<string, number>>({
  type: 'object',
  additionalProperties: { type: 'integer' },
});

/** A response header as OpenAPI documents it. */
export interface HeaderDoc {
  readonly type: 'string' | 'integer';
  readonly description: string;
  readonly enum?: readonly string[];
}

/**
 * A reference to a named component (a schema with an `$id`, see `sharedSchemas`), typed as that schema, with
 * what this use of it means (a response's description) and the response's headers.
 */
export function ref<T extends TSchema>(
  schema: T,
  description?: string,
  headers?: Readonly<Record<string, HeaderDoc>>,
): TUnsafe<Static<T>> {
  const { $id } = schema as { $id?: string };
  if (!$id) throw new Error('ref() names a shared schema: one with an $id');
  return Type.Unsafe<Static<T>>({
    $ref: `${$id}#`,
    ...(description ? { description } : {}),
    ...(headers ? { headers } : {}),
  });
}

/** A route's own response schema, with what it means and its headers. */
export const described = <T extends TSchema>(
  schema: T,
  description: string,
  headers?: Readonly<Record<string, HeaderDoc>>,
): T => ({ ...schema, description, ...(headers ? { headers } : {}) });

/**
 * SKUs are ids in ledger keys: `#` and `|` are separators there, so only these characters are allowed. The stock
 * library checks the same pattern (`skuPattern` in src/stock/placement.ts, which may not import the contract);
 * test/unit/sku-pattern.test.ts holds the two equal.
 */
export const skuPatternSource = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const Sku = Type.String({ pattern: skuPatternSource });
export const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });
/** The longest path parameter any route accepts (`Id`): Fastify's router refuses longer ones. */
export const maxParamLength = 128;

export const idempotencyKeyLength = { minLength: 1, maxLength: 255 } as const;
export const IdempotencyKey = Type.String(idempotencyKeyLength);
/** The headers of a write that must be safe to retry: 400 without an Idempotency-Key. */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': IdempotencyKey });
export type IdempotencyHeaders = Static<typeof IdempotencyHeaders>;

/** The Location header of a 201 (and of a 202 whose result can be polled). */
export const locationHeader = {
  location: { type: 'string', description: 'The URL of the created resource' },
} as const satisfies Record<string, HeaderDoc>;

/** The header of an answer to a write made safe to retry by its Idempotency-Key (or, for products, its SKU). */
export const replayedHeader = {
  'idempotent-replayed': {
    type: 'string',
    enum: ['true', 'false'],
    description: 'true when this is the recorded answer to an earlier request with the same key and body',
  },
} as const satisfies Record<string, HeaderDoc>;
