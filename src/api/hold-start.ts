import { WithStartWorkflowOperation } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { isUndecidedTemporalError } from './temporal-errors';
import type { holdWorkflow } from '../workflows/hold';
import { CartId, CustomerId, HoldStatus, Sku } from '../contract/search-attributes';
import { holdRevision, type HoldRevision, type HoldWorkflowInput } from '../contract/types';
import { workflowIds } from '../contract/workflow-ids';

/**
 * The start half of an add-to-cart's update-with-start (client side; not part of the workflow bundle). The
 * line's search attributes travel with the start, so the run records no upsert for them, and the input
 * carries the current revision.
 */
export function holdStartOperation(
  input: Omit<HoldWorkflowInput, 'revision'>,
  taskQueue: string,
  /** Tests start runs of an older revision still in flight during a deploy. */
  revision: HoldRevision = holdRevision,
): WithStartWorkflowOperation<typeof holdWorkflow> {
  const searchAttributes: SearchAttributePair[] = [
    { key: CartId, value: input.cartId },
    { key: Sku, value: input.sku },
    ...(input.customerId ? [{ key: CustomerId, value: input.customerId }] : []),
    // An add-to-cart is counted as holding from its start: its first workflow task then records no upsert (a
    // visibility write less per hold); a refused run says `out_of_stock` or `limit_reached` when it ends.
    { key: HoldStatus, value: 'held' },
  ];
  return new WithStartWorkflowOperation<typeof holdWorkflow>('holdWorkflow', {
    workflowId: workflowIds.hold(input.holdId),
    taskQueue,
    args: [{ ...input, revision }],
    // A line's id comes from its request's Idempotency-Key: a retry joins the running line, and never starts
    // a second run once the line has ended (that would reserve again under a settled hold id).
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: searchAttributes,
  });
}

/** How long an add-to-cart keeps trying a start the server could not take (then the request answers 503). */
const startRetryMs = 10_000;

/**
 * Runs an update-with-start again (after 50 ms, doubling to 1 s) while it fails without deciding anything
 * (`isUndecidedTemporalError`): the line's id comes from the request's key and its start joins a running line,
 * so another attempt reaches the same line and answers its real answer.
 */
export async function retryingStart<T>(start: () => Promise<T>, budgetMs = startRetryMs): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let wait = 50; ; wait = Math.min(1000, wait * 2)) {
    try {
      return await start();
    } catch (err) {
      if (!isUndecidedTemporalError(err) || Date.now() + wait > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
