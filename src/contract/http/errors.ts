import { Type, type Static, type TUnsafe } from 'typebox';
import { ref, StringEnum, type HeaderDoc } from './common';

/**
 * Every `error` code the API sends, with the one status it comes with. The error mapper, the routes and the
 * OpenAPI document's error schema (an enum of these) all use this list.
 */
export const errorStatuses = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  unknown_product: 404,
  unknown_line: 404,
  unknown_order: 404,
  unknown_backorder: 404,
  unknown_reorder: 404,
  unknown_webhook: 404,
  unknown_event: 404,
  out_of_stock: 409,
  limit_reached: 409,
  insufficient_stock: 409,
  product_exists: 409,
  line_locked: 409,
  line_not_pending: 409,
  line_busy: 409,
  checkout_in_progress: 409,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatuses;
export const errorCodes = Object.keys(errorStatuses) as ErrorCode[];
export type ErrorStatus = (typeof errorStatuses)[ErrorCode];

/** The error body: `{ error, message, requestId }`, and the ids some errors name. */
export const ErrorBody = Type.Object(
  {
    error: StringEnum(errorCodes),
    message: Type.String(),
    requestId: Type.String(),
    // Set by the errors that name what they refer to: out_of_stock (the refused line and what is left),
    // limit_reached (the refused line and the product's per-customer limit), checkout_in_progress (the order
    // checking the cart out).
    holdId: Type.Optional(Type.String()),
    available: Type.Optional(Type.Integer()),
    limit: Type.Optional(Type.Integer()),
    orderId: Type.Optional(Type.String()),
  },
  { $id: 'Error', additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorBody>;

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

const errorHeaders: Partial<Record<ErrorStatus, Record<string, HeaderDoc>>> = {
  401: { 'www-authenticate': { type: 'string', description: 'Bearer realm="holdfast"' } },
  429: { 'retry-after': { type: 'integer', description: 'Seconds until the limit resets' } },
  503: { 'retry-after': { type: 'integer', description: 'Seconds to wait before retrying' } },
};

/**
 * The error responses of a route, each the one shared error schema. A route that can fail inside (500) can also
 * find a dependency out of reach (503).
 */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  const all: ErrorStatus[] = (statuses as ErrorStatus[]).includes(500) ? [...statuses, 503] : statuses;
  return Object.fromEntries(
    all.map((status) => [status, ref(ErrorBody, errorDescriptions[status], errorHeaders[status])]),
  ) as Record<S | (500 extends S ? 503 : never), TUnsafe<ErrorBody>>;
}
