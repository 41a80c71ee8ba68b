import type { Client, WorkflowExecutionInfo } from '@temporalio/client';

/** Up to `limit` runs a visibility query finds (the ops lists). */
export async function listWorkflows(temporal: Client, query: string, limit: number): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const execution of temporal.workflow.list({ query, pageSize: limit })) {
    found.push(execution);
    if (found.length >= limit) break;
  }
  return found;
}
