import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from './workflow-helpers';

const dir = path.join(import.meta.dirname, 'fixtures', 'histories');

/**
 * Histories recorded from released workflow code (scripts/record-histories.ts) must replay on today's code
 * without a non-determinism error: changes after a release are guarded with patched(), or (the hold workflow)
 * by the revision its input carries.
 */
describe('replaying recorded histories', () => {
  it('replays every recorded history on the current workflow code', async () => {
    // One folder per hold workflow revision still in use (r3 is the current one).
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(7);
    const histories = await Promise.all(
      files.map(async (f) => ({
        workflowId: f.replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(await readFile(path.join(dir, f), 'utf8'))),
      })),
    );
    const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories);
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of results) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  });
});
