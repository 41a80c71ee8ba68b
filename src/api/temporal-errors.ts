import { isGrpcServiceError, ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';

/** gRPC codes of a call Temporal did not take: deadline, overloaded, aborted, unavailable. */
const undecidedCodes = new Set([
  4 /* DEADLINE_EXCEEDED */, 8 /* RESOURCE_EXHAUSTED */, 10 /* ABORTED */, 14 /* UNAVAILABLE */,
]);

/**
 * Whether a Temporal call failed without deciding anything, so that sending it again is safe: the server was
 * busy or out of reach, the call timed out, or it deduplicated the start of an earlier attempt of the same
 * update-with-start (`StartDeduped`: the SDK's own retry) without running the update. The one classification
 * the API retries add-to-cart starts on and answers 503 for.
 */
export function isUndecidedTemporalError(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  const grpc = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(grpc) && (undecidedCodes.has(grpc.code) || /StartDeduped/.test(grpc.details));
}
