import {
  isGrpcServiceError,
  ServiceError,
  WithStartWorkflowOperation,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { holdWorkflow } from '../workflows/hold';
import { CartId, CustomerId, Sku } from '../contract/search-attributes';
import { holdRevision, type HoldWorkflowInput } from '../contract/types';
import { workflowIds } from '../contract/workflow-ids';

/**
 * The start half of an add-to-cart's update-with-start (client side; not part of the workflow bundle). The
 * line's search attributes travel with the start, so the run records no upsert for them, and the input
 * carries the current revision.
 */
export function holdStartOperation(
  input: Omit<HoldWorkflowInput, 'revision'>,
  taskQueue: string,
): WithStartWorkflowOperation<typeof holdWorkflow> {
  const searchAttributes: SearchAttributePair[] = [
    { key: CartId, value: input.cartId },
    { key: Sku, value: input.sku },
    ...(input.customerId ? [{ key: CustomerId, value: input.customerId }] : []),
  ];
  return new WithStartWorkflowOperation<typeof holdWorkflow>('holdWorkflow', {
    workflowId: workflowIds.hold(input.holdId),
    taskQueue,
    args: [{ ...input, revision: holdRevision }],
    // A line's id comes from its request's Idempotency-Key: a retry joins the running line, and never starts
    // a second run once the line has ended (that would reserve again under a settled hold id).
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: searchAttributes,
  });
}

/** How long an add-to-cart keeps trying a start the server could not take (then the request answers 503). */
const startRetryMs = 10_000;

/** gRPC codes of a start the server did not take, to be sent again: deadline, overloaded, aborted, unavailable. */
const retriedCodes = new Set([4, 8, 10, 14]);

/**
 * Whether an update-with-start failed without deciding anything, so that sending it again is safe and needed:
 * the server was busy or out of reach, or it deduplicated the start of an earlier attempt of the same call
 * (`StartDeduped`: the SDK's own retry) without running the update. The line's id comes from the request's key
 * and its start joins a running line, so another attempt reaches the same line and answers its real answer.
 */
export function isRetriedStartError(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  if (!(err instanceof ServiceError)) return false;
  const cause = err.cause;
  if (!isGrpcServiceError(cause)) return false;
  return retriedCodes.has(cause.code) || /StartDeduped/.test(cause.details ?? cause.message);
}

/** Runs an update-with-start again (after 50 ms, doubling to 1 s) while it fails with `isRetriedStartError`. */
export async function retryingStart<T>(start: () => Promise<T>, budgetMs = startRetryMs): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let wait = 50; ; wait = Math.min(1000, wait * 2)) {
    try {
      return await start();
    } catch (err) {
      if (!isRetriedStartError(err) || Date.now() + wait > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
