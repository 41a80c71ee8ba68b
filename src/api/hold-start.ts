import { WithStartWorkflowOperation } from '@temporalio/client';
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
