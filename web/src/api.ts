/** The HTTP API's contract as the pages see it, and one `request` that every call goes through. */

export type Policy = 'strict' | 'backorder';
export type StockState = 'available' | 'returned' | 'repair' | 'damaged';

export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly policy: Policy;
  readonly available: number;
  readonly reserved: number;
  readonly sold: number;
  readonly backordered: number;
  /** Received for waiting backorders: only the queue may take it. */
  readonly incoming?: number;
  readonly nonSellable: { readonly returned: number; readonly repair: number; readonly damaged: number };
}

export type LineStatus = 'pending' | 'purchased' | 'expired' | 'removed' | 'backordered';

export interface CartLine {
  readonly holdId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly status: LineStatus;
  readonly expiresAt?: string;
}

export interface Cart {
  readonly cartId: string;
  readonly lines: readonly CartLine[];
}

export interface HoldAnswer {
  readonly holdId: string;
  readonly status: 'held' | 'backordered';
  readonly quantity: number;
  readonly expiresAt?: string;
}

export type OrderStatus = 'pending' | 'completed' | 'failed';

export interface Order {
  readonly orderId: string;
  readonly status: OrderStatus;
  readonly reason?: string;
  readonly lines: readonly { holdId: string; sku: string; quantity: number; unitPriceCents: number }[];
  readonly totalCents: number;
}

export interface Backorders {
  readonly sku: string;
  readonly waiting: readonly { holdId: string; quantity: number; arrivedAt: string }[];
}

export interface Reorder {
  readonly sku: string;
  readonly status: string;
  readonly quantity: number;
  readonly availableAtRequest: number;
  readonly workflowId: string;
  /** Absent when the API knows no Temporal Web UI. */
  readonly runUrl?: string;
}

export interface Overview {
  readonly temporalUiUrl?: string;
  readonly carts: readonly { cartId: string; runUrl?: string }[];
  /** `status` is the checkout run's (pending, completed, failed, or Temporal's RUNNING, COMPLETED...). */
  readonly orders: readonly { orderId: string; status: string; runUrl?: string }[];
}

/** An answer other than 2xx: `code` is the API's snake_case error, or `network_error` when none came. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly idempotencyKey?: string;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The store is not answering. Check your connection and try again.');
  }
  const json = parseJson(await res.text());
  if (!res.ok) {
    const err = (json ?? {}) as { error?: string; message?: string; requestId?: string };
    throw new ApiError(res.status, err.error ?? `http_${res.status}`, err.message ?? res.statusText, err.requestId);
  }
  return json as T;
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined; // a proxy's HTML error page: the status says enough
  }
}

/** A fresh key per user action: a retried request is then applied once, a second click is a second action. */
export function idempotencyKey(): string {
  // randomUUID exists only in secure contexts (https, localhost); the store may be opened over plain http on a LAN.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const messages: Record<string, string> = {
  out_of_stock: 'Sold out: every unit is held in other carts or sold.',
  network_error: 'The store is not answering. Check your connection and try again.',
  rate_limited: 'Too many requests. Wait a moment and try again.',
  unauthorized: 'Your session ended. Reload the page to start a new cart.',
  line_locked: 'This line is being checked out.',
  line_not_pending: 'This line has ended: its hold expired, or it was removed or purchased.',
};

/** What to tell a person about a failed call. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return messages[err.code] ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
