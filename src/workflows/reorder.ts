import { allHandlersFinished, condition, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { data } from './activity-options';
import {
  approveReorderSignal,
  receiveReorderSignal,
  rejectReorderSignal,
  reorderStateQuery,
} from '../contract/messages';
import { Sku } from '../contract/search-attributes';
import { routesThroughQueue } from '../contract/stock-routing';
import type { ReorderState } from '../contract/types';
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';

export interface ReorderInput {
  readonly sku: string;
  readonly quantity: number;
  readonly availableAtRequest: number;
}

/**
 * Low stock asks a human: one run per SKU at a time (the workflow id is `reorder-<sku>`). It records a
 * notification for ops and waits, without any timeout, for approve or reject. Approval records a purchase
 * order; the `receive` signal then restocks through the ledger (or the backorder queue). Never automatic.
 */
export async function reorderWorkflow(input: ReorderInput): Promise<ReorderState> {
  let state: ReorderState = {
    sku: input.sku,
    status: 'awaiting_approval',
    quantity: input.quantity,
    availableAtRequest: input.availableAtRequest,
  };
  let received: number | undefined;
  setHandler(reorderStateQuery, () => state);
  setHandler(approveReorderSignal, ({ by, quantity }) => {
    if (state.status === 'awaiting_approval') {
      state = { ...state, status: 'approved', decidedBy: by, quantity: quantity ?? state.quantity };
    }
  });
  setHandler(rejectReorderSignal, ({ by }) => {
    if (state.status === 'awaiting_approval') state = { ...state, status: 'rejected', decidedBy: by };
  });
  setHandler(receiveReorderSignal, ({ quantity }) => {
    if (state.status === 'approved') received = quantity ?? state.quantity;
  });

  upsertSearchAttributes([{ key: Sku, value: input.sku }] as SearchAttributeUpdatePair[]);
  const { workflowId, runId } = workflowInfo();
  await data.notifyOps({
    id: `${workflowId}:${runId}`,
    sku: input.sku,
    kind: 'reorder_requested',
    message: `${input.sku} is low (${input.availableAtRequest} available): approve a reorder of ${input.quantity}?`,
  });

  await condition(() => state.status !== 'awaiting_approval');
  if (state.status === 'approved') {
    const poId = `po-${input.sku}-${runId}`;
    await data.recordPurchaseOrder({ poId, sku: input.sku, quantity: state.quantity, approvedBy: state.decidedBy! });
    state = { ...state, purchaseOrderId: poId };
    await condition(() => received !== undefined);
    const product = await data.productInfo(input.sku);
    if (routesThroughQueue(product)) {
      await data.restockThroughQueue({ sku: input.sku, opId: poId, quantity: received! });
    } else {
      await data.restockStock({ opId: poId, sku: input.sku, quantity: received! });
    }
    state = { ...state, status: 'received' };
  } else if (patched('reorder-rejected-event')) {
    // Runs recorded before the event was (no marker in their history) skip it on replay.
    await data.recordReorderRejected({ sku: input.sku, reorderId: `${workflowId}:${runId}`, by: state.decidedBy! });
  }
  await condition(allHandlersFinished);
  return state;
}
