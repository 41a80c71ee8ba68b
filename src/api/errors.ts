import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InsufficientStockError, InvalidStockInputError, ProductConflictError, UnknownProductError } from '../stock';

/** An error with its HTTP status and stable code: what the one error handler sends. */
export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Ids the body names besides the code (e.g. the order a checkout_in_progress refers to). */
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

const updateRejections: Record<string, [number, string]> = {
  LineLocked: [409, 'line_locked'],
  LineNotPending: [409, 'line_not_pending'],
  LineBusy: [409, 'line_busy'],
};

/** Maps a thrown error to the response: domain errors to 4xx, anything else to a 500 that leaks nothing. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError.validation) return new HttpError(400, 'invalid_request', fastifyError.message);
  if (fastifyError.statusCode === 429) return new HttpError(429, 'rate_limited', fastifyError.message);
  if (fastifyError.statusCode === 413) return new HttpError(413, 'payload_too_large', fastifyError.message);
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new HttpError(
      fastifyError.statusCode,
      fastifyError.code?.toLowerCase() ?? 'bad_request',
      fastifyError.message,
    );
  }
  if (err instanceof UnknownProductError) return new HttpError(404, 'unknown_product', err.message);
  if (err instanceof ProductConflictError) return new HttpError(409, 'product_exists', err.message);
  if (err instanceof InsufficientStockError) return new HttpError(409, 'insufficient_stock', err.message);
  if (err instanceof InvalidStockInputError) return new HttpError(400, 'invalid_request', err.message);
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const [status, code] = updateRejections[err.cause.type ?? ''] ?? [409, 'conflict'];
    return new HttpError(status, code, err.cause.message);
  }
  return new HttpError(500, 'internal', 'internal error');
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const http = toHttpError(err);
  if (http.statusCode >= 500) request.log.error({ err }, 'request failed');
  return reply
    .code(http.statusCode)
    .send({ error: http.code, message: http.message, ...http.details, requestId: request.id });
}
