import type { SystemReport } from '../ops/check-system';
import type { InvariantReport } from '../stock';
import type { BackorderQueueState, ReorderState } from '../contract/types';

/** A product as GET /v1/products/:sku shows it: the catalog entry with live stock. */
export interface ProductView {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly policy: 'strict' | 'backorder';
  readonly available: number;
  readonly reserved: number;
  readonly sold: number;
  readonly backordered: number;
  readonly incoming?: number;
  readonly nonSellable: { readonly returned?: number; readonly repair?: number; readonly damaged?: number };
  readonly lowStockThreshold?: number;
  readonly reorderQuantity?: number;
  readonly buckets?: number;
}

export interface NewProduct {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly quantity: number;
  readonly policy: string;
  readonly buckets?: number;
  readonly lowStockThreshold?: number;
  readonly reorderQuantity?: number;
}

export interface OpenReorder extends ReorderState {
  readonly workflowId: string;
  readonly runUrl?: string;
}

export type ReorderAction = 'approve' | 'reject' | 'receive';

/** The API's error body `{ error, message }`, or `unreachable` / `timeout` / `http_<status>` when there is none. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const requestTimeoutMs = 60_000;

/**
 * The HTTP API over global fetch: one method per route the CLI uses, no retries. Every write carries
 * `idempotencyKey` as its Idempotency-Key: one client makes one write (one command line), and sending it again
 * with the same key is how an operator retries it without doing it twice.
 */
export class ApiClient {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token: string | undefined,
    private readonly idempotencyKey?: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  listProducts(): Promise<{ products: ProductView[] }> {
    return this.request('GET', '/v1/products');
  }

  product(sku: string): Promise<ProductView> {
    return this.request('GET', `/v1/products/${segment(sku)}`);
  }

  createProduct(product: NewProduct): Promise<ProductView> {
    return this.request('POST', '/v1/products', product);
  }

  restock(sku: string, quantity: number): Promise<{ sku: string; quantity: number; opId: string }> {
    return this.request('POST', `/v1/products/${segment(sku)}/restock`, { quantity });
  }

  move(
    sku: string,
    quantity: number,
    from: string,
    to: string,
  ): Promise<{ sku: string; quantity: number; from: string; to: string }> {
    return this.request('POST', `/v1/products/${segment(sku)}/moves`, { quantity, from, to });
  }

  backorders(sku: string): Promise<BackorderQueueState> {
    return this.request('GET', `/v1/products/${segment(sku)}/backorders`);
  }

  cancelBackorder(sku: string, holdId: string): Promise<{ holdId: string; status: string }> {
    return this.request('DELETE', `/v1/products/${segment(sku)}/backorders/${segment(holdId)}`);
  }

  moveBackorder(
    sku: string,
    holdId: string,
    position: number,
  ): Promise<{ sku: string; holdId: string; position: number }> {
    return this.request('POST', `/v1/products/${segment(sku)}/backorders/${segment(holdId)}/position`, { position });
  }

  reorders(): Promise<{ reorders: OpenReorder[] }> {
    return this.request('GET', '/v1/reorders');
  }

  decideReorder(
    action: ReorderAction,
    sku: string,
    body: { quantity?: number; reason?: string },
  ): Promise<ReorderState> {
    return this.request('POST', `/v1/reorders/${segment(sku)}/${action}`, body);
  }

  invariants(sku: string): Promise<InvariantReport> {
    return this.request('GET', `/v1/ops/invariants/${segment(sku)}`);
  }

  /** The system check; exits 1 in the CLI when it finds violations, so the report is an answer, not an error. */
  check(): Promise<SystemReport> {
    return this.request('GET', '/v1/ops/check');
  }

  private async request<T>(method: string, path: string, body?: object): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // Fastify rejects a JSON content type with an empty body, so only requests with a body declare one.
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.idempotencyKey) headers['idempotency-key'] = this.idempotencyKey;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (err) {
      if (err instanceof Error && err.name === 'TimeoutError') {
        throw new ApiError(0, 'timeout', `${method} ${path} got no answer in ${requestTimeoutMs / 1000}s`);
      }
      throw new ApiError(0, 'unreachable', `cannot reach ${this.baseUrl}: ${networkReason(err)}`);
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) {
      const { error, message } = (parsed ?? {}) as { error?: unknown; message?: unknown };
      throw new ApiError(
        response.status,
        typeof error === 'string' ? error : `http_${response.status}`,
        typeof message === 'string' ? message : response.statusText,
      );
    }
    if (parsed === undefined) throw new ApiError(response.status, 'bad_response', `${method} ${path}: not JSON`);
    return parsed as T;
  }
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is in its cause. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
