import { allHandlersFinished, condition, setHandler, sleep } from '@temporalio/workflow';
import { floorUpdate } from './messages';

/**
 * The benchmark's Temporal floor: the hold workflow's shape — started by update-with-start, answering the
 * update, then waiting out a timer — with no stock work. Our add-to-cart throughput is reported as a ratio
 * of this one's on the same server.
 */
export async function floorWorkflow(input: { ttlSeconds: number }): Promise<void> {
  let answered = false;
  setHandler(floorUpdate, () => {
    answered = true;
    return { status: 'held' as const };
  });
  await condition(() => answered);
  await sleep(input.ttlSeconds * 1000);
  await condition(allHandlersFinished);
}
