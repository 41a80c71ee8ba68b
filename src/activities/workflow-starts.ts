import { performance } from 'node:perf_hooks';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SignalDefinition, Workflow } from '@temporalio/common';
import { workflowIds } from '../contract/workflow-ids';
import type { ActivityDeps } from './deps';

type Starter = Pick<ActivityDeps, 'temporal' | 'taskQueue'>;

/** How long this process trusts that a singleton workflow it started, or found running, still runs. */
export const seenRunningMs = 1000;

/** Singleton workflows this process started or found running, by id: when (performance.now()). */
const seenRunning = new Map<string, number>();

/**
 * Whether this process started the singleton workflow, or found it running, in the last `seenRunningMs`. A
 * caller that would only start it again may skip the start then (and the reads that decide it): a hot SKU's
 * every take would otherwise ask Temporal once more.
 */
export function seenRunningRecently(workflowId: string): boolean {
  const at = seenRunning.get(workflowId);
  return at !== undefined && performance.now() - at < seenRunningMs;
}

/** Starts a singleton workflow unless one with that id runs already; true when this call started it. */
export async function startOnce(
  { temporal, taskQueue }: Starter,
  workflowType: string,
  workflowId: string,
  args: unknown[],
): Promise<boolean> {
  try {
    await temporal.workflow.start(workflowType, { workflowId, taskQueue, args });
    seenRunning.set(workflowId, performance.now());
    return true;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    seenRunning.set(workflowId, performance.now());
    return false;
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
