/**
 * Builds the workflow bundle ahead of time, so a worker started with WORKFLOW_BUNDLE=<file> loads it instead of
 * running webpack over the workflow sources at every start (the Docker image builds it):
 *
 *   npm run build:workflows [-- <file>]      (default dist/workflow-bundle.js)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from '../src/worker';

export async function buildWorkflowBundle(file: string): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, code);
}

if (process.argv[1] === import.meta.filename) {
  const file = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  buildWorkflowBundle(file).then(
    () => console.log(`workflow bundle: ${file}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
