// The floor's own workflow bundle (bench/lib/floor-server.ts bundles this file alone): it never ships with
// holdfast's workflows.
import { allHandlersFinished, condition, defineUpdate, setHandler, sleep } from '@temporalio/workflow';

export const floorUpdate = defineUpdate<{ status: 'held' | 'out_of_stock' }>('floor');

/**
 * The benchmark's Temporal floor: the hold workflow's shape with no stock work. Started by update-with-start,
 * it answers the update, then either waits out a timer (a shopper who got a unit) or ends at once (a shopper
 * refused: most of a flash sale). Our add-to-cart throughput is reported as a ratio of this one's on the same
 * server.
 */
export async function floorWorkflow(input: { ttlSeconds: number; hold?: boolean }): Promise<void> {
  const hold = input.hold ?? true;
  let answered = false;
  setHandler(floorUpdate, () => {
    answered = true;
    return { status: hold ? ('held' as const) : ('out_of_stock' as const) };
  });
  await condition(() => answered);
  if (hold) await sleep(input.ttlSeconds * 1000);
  await condition(allHandlersFinished);
}
