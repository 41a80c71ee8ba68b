import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorBody } from '../../src/client';
import { Tally } from '../../bench/harness/tally';

export interface Answer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

export interface RequestOptions {
  readonly body?: unknown;
  /** A bearer token (a cart's, or the ops token). */
  readonly token?: string;
  readonly idempotencyKey?: string;
}

/** A request that kept failing transiently for longer than the retry budget: the system did not recover. */
export class GaveUpError extends Error {
  override readonly name = 'GaveUpError';
}

export interface ApiClientOptions {
  readonly baseUrl: string;
  readonly signal: AbortSignal;
  /** How long one exchange may take before it counts as lost and is sent again. */
  readonly requestTimeoutMs: number;
  /** How long a request is retried, from its first attempt. */
  readonly retryForMs: number;
}

/**
 * The holdfast HTTP API as a shopper under chaos sees it. A transient failure — no connection, no answer in
 * time, a 5xx — is retried with the same request, headers and Idempotency-Key, which is what idempotency keys
 * are for.
 */
export class ApiClient {
  /** Exchanges sent, including retries. */
  requests = 0;
  /** Retries after a network error, a timeout or a 5xx. */
  retries = 0;
  gaveUp = 0;
  /** What the retried failures were, by route. */
  readonly transient = new Tally();

  constructor(private readonly options: ApiClientOptions) {}

  async send<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    route: string,
    options: RequestOptions = {},
  ): Promise<Answer<T>> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let failure: string;
      try {
        const answer = await this.once<T>(method, path, options);
        const error = (answer.body as { error?: unknown } | undefined)?.error;
        if (answer.status < 500) return answer;
        failure = `${answer.status} ${String(error ?? '')}`.trim();
      } catch (err) {
        this.options.signal.throwIfAborted();
        failure = describeNetworkError(err);
      }
      const waited = Date.now() - started;
      if (waited > this.options.retryForMs) {
        this.gaveUp++;
        throw new GaveUpError(`${route}: still ${failure} after ${Math.round(waited / 1000)} s`);
      }
      this.retries++;
      this.transient.add(`${route}: ${failure}`);
      await sleep(Math.min(4000, 250 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random()), undefined, {
        signal: this.options.signal,
      });
    }
  }

  private async once<T>(method: string, path: string, options: RequestOptions): Promise<Answer<T>> {
    this.requests++;
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    // A timer and a listener rather than AbortSignal.any(AbortSignal.timeout()): on Node 20 the composite signal
    // can lose its timeout signal to garbage collection, and a hung request then waits for undici's 300 s.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new RequestTimeoutError()), this.options.requestTimeoutMs);
    const cancel = () => abort.abort(this.options.signal.reason);
    this.options.signal.addEventListener('abort', cancel, { once: true });
    try {
      const res = await fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: abort.signal,
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text === '' ? {} : JSON.parse(text);
      } catch {
        // not JSON: kept as text for the report
      }
      return { status: res.status, body: body as T };
    } catch (err) {
      throw abort.signal.aborted ? abort.signal.reason : err;
    } finally {
      clearTimeout(timer);
      this.options.signal.removeEventListener('abort', cancel);
    }
  }
}

class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor() {
    super('no answer in time');
  }
}

/** `ECONNREFUSED`, `timeout`...: what a failed exchange is tallied as. */
function describeNetworkError(err: unknown): string {
  if (err instanceof RequestTimeoutError) return err.message;
  const cause = err instanceof Error ? (err.cause as { code?: string } | undefined) : undefined;
  if (cause?.code) return cause.code;
  return err instanceof Error ? err.message : String(err);
}

/** `409 out_of_stock`: an answer as the summary counts it. */
export function describe(answer: Answer<unknown>): string {
  const error = (answer.body as Partial<ErrorBody> | undefined)?.error;
  return typeof error === 'string' ? `${answer.status} ${error}` : String(answer.status);
}
