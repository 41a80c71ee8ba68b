/**
 * JSON schemas of the API, one place; Fastify validates requests and serialises responses with them, and
 * @fastify/swagger writes the OpenAPI document (/docs/json) from them. The schemas with an `$id` are registered
 * once (`sharedSchemas`) and referenced with `ref()`: they are the document's named components.
 */
import { errorCodes, type errorStatuses } from './errors';

export const skuSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } as const;
export const idSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' } as const;
/** The longest path parameter any route accepts (`idSchema`): Fastify's router refuses longer ones. */
export const maxParamLength = 128;
export const idempotencyKeySchema = { type: 'string', minLength: 1, maxLength: 255 } as const;
/** The headers of a write that must be safe to retry: 400 without an Idempotency-Key. */
export const idempotencyHeadersSchema = {
  type: 'object',
  required: ['idempotency-key'],
  properties: { 'idempotency-key': idempotencyKeySchema },
} as const;
export const stateSchema = { type: 'string', enum: ['available', 'returned', 'repair', 'damaged'] } as const;
export const lineStatusSchema = {
  type: 'string',
  enum: ['pending', 'purchased', 'expired', 'removed', 'backordered'],
} as const;

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error', 'message', 'requestId'],
  additionalProperties: false,
  properties: {
    error: { type: 'string', enum: errorCodes },
    message: { type: 'string' },
    requestId: { type: 'string' },
    // Set by the errors that name what they refer to: out_of_stock (the refused line and what is left),
    // checkout_in_progress (the order checking the cart out).
    holdId: { type: 'string' },
    available: { type: 'integer' },
    orderId: { type: 'string' },
  },
} as const;

export const holdResponseSchema = {
  $id: 'Hold',
  type: 'object',
  required: ['holdId', 'status'],
  properties: {
    holdId: { type: 'string' },
    // A refusal is not a hold: it is 409 out_of_stock.
    status: { type: 'string', enum: ['held', 'backordered', 'removed'] },
    quantity: { type: 'integer' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const cartLineSchema = {
  $id: 'CartLine',
  type: 'object',
  required: ['holdId', 'sku', 'quantity', 'status'],
  properties: {
    holdId: { type: 'string' },
    sku: { type: 'string' },
    quantity: { type: 'integer' },
    status: lineStatusSchema,
    expiresAt: { type: 'string' },
    orderId: { type: 'string' },
  },
} as const;

export const orderSchema = {
  $id: 'Order',
  type: 'object',
  required: ['orderId', 'status', 'lines'],
  properties: {
    orderId: { type: 'string' },
    cartId: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'completed', 'failed'] },
    reason: { type: 'string' },
    totalCents: { type: 'integer' },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          holdId: { type: 'string' },
          sku: { type: 'string' },
          quantity: { type: 'integer' },
          unitPriceCents: { type: 'integer' },
        },
      },
    },
  },
} as const;

export const productViewSchema = {
  $id: 'Product',
  type: 'object',
  required: ['sku', 'name', 'priceCents', 'policy', 'available', 'reserved', 'sold', 'backordered', 'nonSellable'],
  properties: {
    sku: { type: 'string' },
    name: { type: 'string' },
    priceCents: { type: 'integer' },
    policy: { type: 'string', enum: ['strict', 'backorder'] },
    available: { type: 'integer' },
    reserved: { type: 'integer' },
    sold: { type: 'integer' },
    backordered: { type: 'integer' },
    incoming: { type: 'integer' },
    nonSellable: {
      type: 'object',
      properties: { returned: { type: 'integer' }, repair: { type: 'integer' }, damaged: { type: 'integer' } },
    },
    lowStockThreshold: { type: 'integer' },
    reorderQuantity: { type: 'integer' },
    buckets: { type: 'integer' },
  },
} as const;

const counts = { type: 'object', additionalProperties: { type: 'integer' } } as const;

/** A SKU's ledgers replayed (`InvariantReport`): GET /v1/ops/invariants/:sku, and each of the check's `stock`. */
export const invariantReportSchema = {
  $id: 'InvariantReport',
  type: 'object',
  required: ['sku', 'ok', 'violations', 'totals'],
  properties: {
    sku: { type: 'string' },
    ok: { type: 'boolean' },
    violations: { type: 'array', items: { type: 'string' } },
    // The balances by state (available, incoming, held, sold, returned, repair, damaged, received...).
    totals: counts,
    inTransit: { type: 'integer' },
    openHolds: { type: 'integer' },
    unrecorded: { type: 'integer' },
    entries: { type: 'integer' },
  },
} as const;

/** GET /v1/ops/check (`SystemReport`). */
export const systemReportSchema = {
  $id: 'SystemReport',
  type: 'object',
  required: ['ok', 'violations', 'stock', 'counts', 'totals'],
  properties: {
    ok: { type: 'boolean' },
    violations: { type: 'array', items: { type: 'string' } },
    stock: { type: 'array', items: { $ref: 'InvariantReport#' } },
    counts: {
      type: 'object',
      required: ['lines', 'orders', 'charges', 'refunds'],
      properties: { lines: counts, orders: counts, charges: { type: 'integer' }, refunds: { type: 'integer' } },
    },
    totals: {
      type: 'object',
      required: ['chargedCents', 'refundedCents', 'ordersCents', 'sold'],
      properties: {
        chargedCents: { type: 'integer' },
        refundedCents: { type: 'integer' },
        ordersCents: { type: 'integer' },
        sold: counts,
      },
    },
  },
} as const;

export const reorderStateSchema = {
  $id: 'Reorder',
  type: 'object',
  required: ['sku', 'status'],
  properties: {
    sku: { type: 'string' },
    // `unknown` in a list when the run did not answer in time.
    status: { type: 'string', enum: ['awaiting_approval', 'approved', 'rejected', 'received', 'unknown'] },
    quantity: { type: 'integer' },
    availableAtRequest: { type: 'integer' },
    decidedBy: { type: 'string' },
    purchaseOrderId: { type: 'string' },
    workflowId: { type: 'string' },
    runUrl: { type: 'string' },
  },
} as const;

export const backorderQueueSchema = {
  $id: 'BackorderQueue',
  type: 'object',
  required: ['sku', 'waiting', 'filled'],
  properties: {
    sku: { type: 'string' },
    waiting: {
      type: 'array',
      items: {
        type: 'object',
        required: ['holdId', 'quantity', 'arrivedAt'],
        properties: { holdId: { type: 'string' }, quantity: { type: 'integer' }, arrivedAt: { type: 'string' } },
      },
    },
    filled: { type: 'integer' },
  },
} as const;

export const overviewSchema = {
  $id: 'Overview',
  type: 'object',
  required: ['carts', 'orders'],
  properties: {
    temporalUiUrl: { type: 'string' },
    carts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['cartId'],
        properties: { cartId: { type: 'string' }, runUrl: { type: 'string' } },
      },
    },
    orders: {
      type: 'array',
      items: {
        type: 'object',
        required: ['orderId', 'status'],
        properties: {
          orderId: { type: 'string' },
          status: { type: 'string', enum: ['pending', 'completed', 'failed'] },
          runUrl: { type: 'string' },
        },
      },
    },
  },
} as const;

/** GET /readyz and /health: 200 when Temporal and every shard answer, 503 naming what does not. */
export const readinessSchema = {
  $id: 'Readiness',
  type: 'object',
  required: ['status', 'temporal', 'shards'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    temporal: { type: 'boolean' },
    shards: { type: 'array', items: { type: 'boolean' } },
  },
} as const;

/** Registered once with `app.addSchema`, in an order where each is defined before it is referenced. */
export const sharedSchemas = [
  errorSchema,
  holdResponseSchema,
  cartLineSchema,
  orderSchema,
  productViewSchema,
  invariantReportSchema,
  systemReportSchema,
  reorderStateSchema,
  backorderQueueSchema,
  overviewSchema,
  readinessSchema,
] as const;

/** A reference to a shared schema, with what this use of it means (the response's description). */
export const ref = (schema: (typeof sharedSchemas)[number], description?: string) => ({
  $ref: `${schema.$id}#`,
  ...(description ? { description } : {}),
});

export type ErrorStatus = (typeof errorStatuses)[keyof typeof errorStatuses];

const errorDescriptions: Record<ErrorStatus, string> = {
  400: 'Invalid request: a body, path parameter or header the schema refuses, or malformed JSON (invalid_request)',
  401: 'No bearer token, or one that is not ours (unauthorized); WWW-Authenticate names the scheme',
  403: "The token is another cart's, or not the ops token (forbidden)",
  404: 'Not found (not_found, or unknown_<thing>)',
  409: 'Conflicts with the current state: the code says which',
  413: 'The body is larger than BODY_LIMIT_BYTES (payload_too_large)',
  415: 'The body is not application/json (unsupported_media_type)',
  422: 'This Idempotency-Key was used with another body (idempotency_key_reused)',
  429: 'Too many requests from this address or for this cart (rate_limited); Retry-After says when to try again',
  500: 'Internal error; the body has no details, the log has them under requestId (internal)',
  503: 'A shard or Temporal is not answering (unavailable); nothing was decided: retry after Retry-After',
};

const errorHeaders: Partial<Record<ErrorStatus, Record<string, { type: 'string' | 'integer'; description: string }>>> =
  {
    401: { 'www-authenticate': { type: 'string', description: 'Bearer realm="holdfast"' } },
    429: { 'retry-after': { type: 'integer', description: 'Seconds until the limit resets' } },
    503: { 'retry-after': { type: 'integer', description: 'Seconds to wait before retrying' } },
  };

/** The error responses of a route, each the one shared error schema. */
export function errorResponses(...statuses: ErrorStatus[]) {
  // Any route that can fail inside can also find a dependency out of reach.
  const all: ErrorStatus[] = statuses.includes(500) ? [...statuses, 503] : statuses;
  return Object.fromEntries(
    all.map((status) => [
      status,
      {
        ...ref(errorSchema, errorDescriptions[status]),
        ...(errorHeaders[status] ? { headers: errorHeaders[status] } : {}),
      },
    ]),
  );
}

/** The Location header of a 201 (and of a 202 whose result can be polled). */
export const locationHeader = {
  location: { type: 'string', description: 'The URL of the created resource' },
} as const;

/** The header of an answer to a write made safe to retry by its Idempotency-Key (or, for products, its SKU). */
export const replayedHeader = {
  'idempotent-replayed': {
    type: 'string',
    enum: ['true', 'false'],
    description: 'true when this is the recorded answer to an earlier request with the same key and body',
  },
} as const;
