import type { components } from './openapi';

/**
 * A call that did not answer 2xx. `code` is the API's error (`out_of_stock`...), or, when no error body came,
 * `unreachable` (no connection), `timeout` (no answer in time) or `http_<status>`; `body` is what came, if any.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }

  /** The API's request id (of a 4xx or 5xx it answered), for a support ticket. */
  get requestId(): string | undefined {
    const { requestId } = (this.body ?? {}) as Partial<components['schemas']['Error']>;
    return typeof requestId === 'string' ? requestId : undefined;
  }

  /** The error of an answer other than 2xx, from its body when the API wrote one. */
  static of(response: Response, body: unknown): ApiError {
    const { error, message } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    return new ApiError(
      response.status,
      typeof error === 'string' ? error : `http_${response.status}`,
      typeof message === 'string' ? message : response.statusText,
      body,
    );
  }
}

/** What an openapi-fetch call resolves to. */
export interface Answer<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/** The data of a 2xx answer; any other answer throws its ApiError. */
export function unwrap<T>(answer: Answer<T>): T {
  if (!answer.response.ok) throw ApiError.of(answer.response, answer.error);
  return answer.data as T;
}
