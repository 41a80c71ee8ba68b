import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { buildWorkflowBundle } from '../scripts/build-workflow-bundle';
import { workflowBundle } from './workflow-helpers';

const dir = path.join(import.meta.dirname, 'fixtures', 'histories');

/**
 * Histories recorded from released workflow code (scripts/record-histories.ts) must replay on today's code
 * without a non-determinism error: changes after a release are guarded with patched(), or (the hold workflow)
 * by the revision its input carries.
 */
describe('replaying recorded histories', () => {
  async function recorded() {
    // One folder per hold workflow revision still in use (r4 is the current one).
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(14);
    return Promise.all(
      files.map(async (f) => ({
        workflowId: f.replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(await readFile(path.join(dir, f), 'utf8'))),
      })),
    );
  }

  it('a bundle built ahead (npm run build:workflows, as the image does) is the workflows', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'holdfast-bundle-')), 'workflow-bundle.js');
    await buildWorkflowBundle(file);
    const histories = await recorded();
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: file } }, histories)) {
      expect(result.error, result.workflowId).toBeUndefined();
      replayed++;
    }
    expect(replayed).toBe(histories.length);
  });

  it('replays every recorded history on the current workflow code', async () => {
    const histories = await recorded();
    const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories);
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of results) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });
});
