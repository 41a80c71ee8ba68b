import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SignalDefinition, Workflow } from '@temporalio/common';
import { workflowIds } from '../contract/workflow-ids';
import type { ActivityDeps } from './deps';

type Starter = Pick<ActivityDeps, 'temporal' | 'taskQueue'>;

/** Starts a singleton workflow unless one with that id runs already; true when this call started it. */
export async function startOnce(
  { temporal, taskQueue }: Starter,
  workflowType: string,
  workflowId: string,
  args: unknown[],
): Promise<boolean> {
  try {
    await temporal.workflow.start(workflowType, { workflowId, taskQueue, args });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/** Signals a backorder SKU's queue, starting it if needed. */
export function signalQueue<Args extends unknown[]>(
  { temporal, taskQueue }: Starter,
  sku: string,
  signal: SignalDefinition<Args>,
  ...signalArgs: Args
) {
  return temporal.workflow.signalWithStart<Workflow, unknown[]>('backorderQueueWorkflow', {
    workflowId: workflowIds.backorders(sku),
    taskQueue,
    args: [{ sku }],
    signal: signal.name,
    signalArgs,
  });
}
