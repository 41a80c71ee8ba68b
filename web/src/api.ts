/** The HTTP API as the pages see it: the typed client of src/client, on the origin that served the page. */
import { ApiError, createApiClient, type ApiClient, type ErrorBody, type Schemas } from '../../src/client';

export { ApiError, unwrap, type Answer, type ApiClient } from '../../src/client';
export type {
  BackorderQueue as Backorders,
  CartView as Cart,
  CartLine,
  Hold as HoldAnswer,
  NewCart,
  NewProduct,
  NewWebhook,
  Order,
  Overview,
  ProductView as Product,
  Reorder,
  StockState,
  WebhookDelivery,
  WebhookEndpoint,
} from '../../src/client';
/** Add-to-cart's 202: waiting in a drop's line, nothing reserved yet. */
export type Queued = Schemas['Queued'];

/** The API that served the page, with a cart's or the ops token. */
export function api(token?: string): ApiClient {
  return createApiClient({ baseUrl: '', token });
}

/** A fresh key per user action: a retried request is then applied once, a second click is a second action. */
export function idempotencyKey(): string {
  // randomUUID exists only in secure contexts (https, localhost); the store may be opened over plain http on a LAN.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const messages: Record<string, string> = {
  out_of_stock: 'Sold out: every unit is held in other carts or sold.',
  unreachable: 'The store is not answering. Check your connection and try again.',
  rate_limited: 'Too many requests. Wait a moment and try again.',
  unauthorized: 'Your session ended. Reload the page to start a new cart.',
  line_locked: 'This line is being checked out.',
  line_not_pending: 'This line has ended: its hold expired, or it was removed or purchased.',
};

/** What to tell a person about a failed call. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError && err.code === 'limit_reached') {
    const { limit } = (err.body ?? {}) as Partial<ErrorBody>;
    return typeof limit === 'number'
      ? `Limit reached: at most ${limit} per customer, counting your other carts and orders.`
      : 'Limit reached: you already have as many as one customer may buy.';
  }
  if (err instanceof ApiError) return messages[err.code] ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
