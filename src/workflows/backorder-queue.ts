import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { data } from './activity-options';
import {
  backorderFilledSignal,
  backorderQueueQuery,
  cancelBackorderSignal,
  enqueueBackorderSignal,
  reprioritiseBackorderSignal,
  restockSignal,
} from './messages';
import type { BackorderEntry } from './types';
import { workflowIds } from './workflow-ids';

export interface BackorderQueueInput {
  readonly sku: string;
  /** Carried over continue-as-new. */
  readonly waiting?: readonly BackorderEntry[];
  readonly restocks?: readonly { opId: string; quantity: number }[];
  readonly filled?: number;
}

/**
 * The waiting backorders of one backorder-policy SKU, in arrival order (ops may reprioritise). Restocks are
 * received as `incoming` stock that new shoppers cannot take, and fill the queue strictly in order; what is
 * left when nobody waits any more goes on general sale. Lives as long as the SKU, continuing as new.
 */
export async function backorderQueueWorkflow(input: BackorderQueueInput): Promise<void> {
  const waiting: BackorderEntry[] = [...(input.waiting ?? [])];
  const restocks = [...(input.restocks ?? [])];
  let filled = input.filled ?? 0;

  setHandler(backorderQueueQuery, () => ({ sku: input.sku, waiting, filled }));
  setHandler(enqueueBackorderSignal, (entry) => {
    if (!waiting.some((w) => w.holdId === entry.holdId)) waiting.push(entry);
  });
  setHandler(cancelBackorderSignal, ({ holdId }) => {
    const i = waiting.findIndex((w) => w.holdId === holdId);
    if (i >= 0) waiting.splice(i, 1);
  });
  setHandler(reprioritiseBackorderSignal, ({ holdId, position }) => {
    const i = waiting.findIndex((w) => w.holdId === holdId);
    if (i < 0) return;
    const [entry] = waiting.splice(i, 1);
    waiting.splice(Math.max(0, Math.min(position, waiting.length)), 0, entry!);
  });
  setHandler(restockSignal, (restock) => {
    restocks.push(restock);
  });

  while (!workflowInfo().continueAsNewSuggested) {
    await condition(() => restocks.length > 0);
    const restock = restocks.shift()!;
    await data.restockStock({ opId: restock.opId, sku: input.sku, quantity: restock.quantity, to: 'incoming' });
    await fillInOrder(restock.opId);
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof backorderQueueWorkflow>({ sku: input.sku, waiting, restocks, filled });

  async function fillInOrder(opId: string) {
    while (waiting.length > 0) {
      const next = waiting[0]!;
      // One attempt per restock: a taking operation's outcome is recorded once, refusals included.
      const outcome = await data.reserveStock({
        holdId: `${next.holdId}:fill:${opId}`,
        sku: input.sku,
        quantity: next.quantity,
        from: 'incoming',
      });
      // Strict order: the first backorder that cannot be filled yet keeps its place and the incoming units.
      if (outcome.status !== 'taken') return;
      waiting.shift();
      filled++;
      try {
        await getExternalWorkflowHandle(workflowIds.hold(next.holdId)).signal(backorderFilledSignal, {
          hold: outcome.hold,
        });
      } catch (err) {
        log.warn('backordered line is gone; releasing its fill', { holdId: next.holdId, err });
        await data.settleHolds({ holds: [outcome.hold], kind: 'release' });
      }
    }
    await data.releaseIncoming({ opId: `${opId}:leftover`, sku: input.sku });
  }
}
