import { Pool } from 'undici';

export interface HttpAnswer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

export interface RequestOptions {
  readonly body?: unknown;
  /** A bearer token. */
  readonly token?: string;
  readonly headers?: Record<string, string>;
}

/** A keep-alive pool of `connections` HTTP/1.1 connections to one origin (undici), speaking JSON. */
export class HttpClient {
  private readonly pool: Pool;

  constructor(
    readonly baseUrl: string,
    connections: number,
  ) {
    this.pool = new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  }

  async request<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: RequestOptions = {},
  ): Promise<HttpAnswer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.pool.request({
      method,
      path,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      // not JSON: keep the text, for the error report
    }
    return { status: res.statusCode, body: body as T };
  }

  /** The request, failing unless the status is one of `expected`. */
  async expect<T = Record<string, unknown>>(
    expected: number | readonly number[],
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const answer = await this.request<T>(method, path, options);
    const ok = typeof expected === 'number' ? [expected] : expected;
    if (!ok.includes(answer.status)) throw new HttpStatusError(method, path, answer);
    return answer.body;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';

  constructor(method: string, path: string, answer: HttpAnswer<unknown>) {
    super(`${method} ${path.replace(/\/c[0-9a-f]{24}(?=\/|$)/, '/:cartId')} -> ${describeAnswer(answer)}`);
  }
}

/** `409 out_of_stock: only 0 available`, for error tallies (one line per distinct failure). */
export function describeAnswer(answer: HttpAnswer<unknown>): string {
  const body = answer.body as { error?: unknown; message?: unknown } | string;
  if (typeof body === 'object' && body !== null && typeof body.error === 'string') {
    return `${answer.status} ${body.error}: ${String(body.message)}`;
  }
  return `${answer.status} ${JSON.stringify(body).slice(0, 300)}`;
}
