/** JSON schemas of the API, one place; Fastify validates requests and serialises responses with them. */

export const skuSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } as const;
export const idSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' } as const;
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
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    requestId: { type: 'string' },
    // Set by the errors that name what they refer to: out_of_stock (the refused line), checkout_in_progress.
    holdId: { type: 'string' },
    orderId: { type: 'string' },
  },
} as const;

export const holdResponseSchema = {
  type: 'object',
  required: ['holdId', 'status'],
  properties: {
    holdId: { type: 'string' },
    status: { type: 'string', enum: ['held', 'backordered', 'removed', 'out_of_stock'] },
    quantity: { type: 'integer' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const cartLineSchema = {
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
