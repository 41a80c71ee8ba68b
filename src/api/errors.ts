import { WorkflowUpdateFailedError } from '@temporalio/client';
import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { ApplicationFailure } from '@temporalio/common';
import { failureTypes } from '../contract/failures';
import { errorStatuses, type ErrorBody, type ErrorCode } from '../contract/http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isUndecidedTemporalError } from './temporal-errors';
import { InsufficientStockError, InvalidStockInputError, ProductConflictError, UnknownProductError } from '../stock';

/** An error with its stable code (which gives its status): what the one error handler sends. */
export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** What the body names besides the code (e.g. the order a checkout_in_progress refers to). */
    readonly details: Readonly<Record<string, string | number>> = {},
    /** Response headers that belong to the error (Retry-After, WWW-Authenticate). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.statusCode = errorStatuses[code];
  }
}

const updateRejections: Record<string, ErrorCode> = {
  [failureTypes.lineLocked]: 'line_locked',
  [failureTypes.lineNotPending]: 'line_not_pending',
  [failureTypes.lineBusy]: 'line_busy',
};

/** Fastify's own 4xx errors (bad JSON, body too large, no parser for the content type...) by status. */
const fastifyCodes: Record<number, ErrorCode> = {
  400: 'invalid_request',
  404: 'not_found',
  413: 'payload_too_large',
  414: 'invalid_request', // a path parameter longer than any id we issue
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** Maps a thrown error to the response: domain errors to 4xx, anything else to a 500 that leaks nothing. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError.validation) return new HttpError('invalid_request', fastifyError.message);
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    return new HttpError(fastifyCodes[status] ?? 'invalid_request', fastifyError.message);
  }
  if (err instanceof UnknownProductError) return new HttpError('unknown_product', err.message);
  if (err instanceof ProductConflictError) return new HttpError('product_exists', err.message);
  if (err instanceof InsufficientStockError) return new HttpError('insufficient_stock', err.message);
  if (err instanceof InvalidStockInputError) return new HttpError('invalid_request', err.message);
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    return new HttpError(updateRejections[err.cause.type ?? ''] ?? 'conflict', err.cause.message);
  }
  if (isTransient(err)) {
    return new HttpError(
      'unavailable',
      'a service holdfast depends on is not answering; try again',
      {},
      {
        'retry-after': '1',
      },
    );
  }
  return new HttpError('internal', 'internal error');
}

/**
 * Whether an error means a dependency (a shard, Temporal) is out of reach for now: nothing was decided, and the
 * client may retry the request (with the same Idempotency-Key) when Retry-After says.
 */
function isTransient(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (
      e instanceof MongoNetworkError ||
      e instanceof MongoServerSelectionError ||
      e instanceof MongoNotConnectedError ||
      e instanceof MongoTopologyClosedError
    ) {
      return true;
    }
    if (isUndecidedTemporalError(e)) return true;
  }
  return false;
}

/** Every 401 names the scheme it wants (RFC 9110 §11.6.1); an error may say more (RFC 6750's `error`). */
const bearerChallenge = 'Bearer realm="holdfast"';
/** RFC 6750's challenge for a token that is not one of ours. */
export const invalidTokenChallenge = `${bearerChallenge}, error="invalid_token"`;

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const http = toHttpError(err);
  if (http.statusCode >= 500) request.log.error({ err }, 'request failed');
  if (http.statusCode === 401) reply.header('www-authenticate', bearerChallenge);
  reply.headers(http.headers);
  const body: ErrorBody = { error: http.code, message: http.message, ...http.details, requestId: request.id };
  return reply.code(http.statusCode).send(body);
}
