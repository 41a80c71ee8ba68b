import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { ApiError } from './api-error';
import type { paths } from './openapi';

/** The HTTP API, typed by its OpenAPI document: `api.GET('/v1/products/{sku}', { params: { path: { sku } } })`. */
export type ApiClient = Client<paths>;

export interface ApiClientOptions {
  /** The API's origin (`http://127.0.0.1:3000`); '' in a page served by the API itself. */
  readonly baseUrl: string;
  /** A bearer token: a cart's or the ops token. */
  readonly token?: string;
  /** Sends each request (default: global fetch); errors it throws become `unreachable` ApiErrors. */
  readonly fetch?: (request: Request) => Promise<Response>;
  /** Headers of every request. */
  readonly headers?: Record<string, string>;
  /** How long a request may wait for its answer before it fails as `timeout` (default: no limit). */
  readonly timeoutMs?: number;
}

/**
 * A client of the HTTP API (openapi-fetch over the generated types). Calls resolve to `{ data, error, response }`;
 * `unwrap` turns that into the data or an ApiError. A request that gets no answer rejects with an ApiError too.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const { timeoutMs } = options;
  const client = createClient<paths>({
    baseUrl,
    headers: {
      accept: 'application/json',
      ...options.headers,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    fetch:
      timeoutMs === undefined
        ? send
        : (request) =>
            send(new Request(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) })),
  });
  client.use(networkErrors(baseUrl, timeoutMs), jsonAnswers);
  return client;
}

/** A 2xx that should be JSON and is not (something else answers at that address): ApiError `bad_response`. */
const jsonAnswers: Middleware = {
  onResponse({ request, response, options }) {
    const type = response.headers.get('content-type') ?? '';
    if (options.parseAs !== 'json' || !response.ok || response.status === 204 || type.includes('json')) return;
    throw new ApiError(response.status, 'bad_response', `${request.method} ${new URL(request.url).pathname}: not JSON`);
  },
};

/** No answer at all: an ApiError `timeout` or `unreachable`, unless the caller aborted the request itself. */
function networkErrors(baseUrl: string, timeoutMs: number | undefined): Middleware {
  return {
    onError({ request, error }) {
      if (error instanceof ApiError) return error;
      if (error instanceof Error && error.name === 'TimeoutError') {
        const path = new URL(request.url).pathname;
        const within = timeoutMs === undefined ? 'in time' : `in ${timeoutMs / 1000}s`;
        return new ApiError(0, 'timeout', `${request.method} ${path} got no answer ${within}`);
      }
      if (request.signal.aborted) return undefined;
      return new ApiError(0, 'unreachable', `cannot reach ${baseUrl || 'the API'}: ${networkReason(error)}`);
    },
  };
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is in its cause. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
