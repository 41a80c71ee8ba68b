import { workflowInfo } from '@temporalio/workflow';
import { data } from './activity-options';

/**
 * Evens out a SKU's buckets after one ran low (workflow id `rebalance-<sku>`: one at a time per SKU). The
 * transfers go through the ledger, keyed by this run, so a retried activity moves nothing twice.
 */
export async function rebalanceWorkflow(input: { sku: string }): Promise<number> {
  return data.rebalanceStock({ opId: `rebalance:${workflowInfo().runId}`, sku: input.sku });
}
