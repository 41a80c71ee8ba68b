import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities';
import type { DomainEvent } from '../contract/events';
import { webhookEventSignal } from '../contract/messages';
import { data } from './activity-options';

export interface WebhookDeliveryInput {
  readonly endpointId: string;
  /** An event not delivered this long after its first attempt is given up (the endpoint's setting). */
  readonly maxAgeSeconds: number;
  /** Carried over by continue-as-new: events not delivered yet, in order, and the ids seen lately. */
  readonly queued?: readonly QueuedEvent[];
  readonly seen?: readonly string[];
}

interface QueuedEvent {
  readonly event: DomainEvent;
  readonly redeliver?: boolean;
}

/** Aggregates delivered to at once: one slow order does not hold up the others. */
const maxLanes = 8;
/** Event ids remembered to drop a repeated signal (the delivery record drops older repeats). */
const seenKept = 2000;
/** Continue-as-new well before Temporal's history limits (a long-lived workflow per endpoint). */
const historyEventsPerRun = 10_000;

/**
 * One endpoint's webhook deliveries (workflow id `webhooks-<endpointId>`), fed by signal-with-start from every
 * step that records an event the endpoint wants. Events of one aggregate (an order, a hold, a SKU) are sent in
 * the order they arrived, one at a time: each is retried with backoff until the receiver answers 2xx or the
 * endpoint's age limit passes, then it is given up (shown failed, with its last error) and the next goes. Other
 * aggregates go meanwhile, up to `maxLanes` at once. Ends when its endpoint was deleted.
 */
export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<void> {
  const send = proxyActivities<Activities>({
    startToCloseTimeout: '20 seconds',
    scheduleToCloseTimeout: `${input.maxAgeSeconds} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
  });
  const lanes = new Map<string, QueuedEvent[]>();
  const active = new Set<string>();
  const seen: string[] = [...(input.seen ?? [])];
  const seenSet = new Set(seen);
  let gone = false;
  let draining = false;

  const laneOf = (e: DomainEvent) => `${e.aggregate.kind}:${e.aggregate.id}`;
  const queue = (q: QueuedEvent) => {
    const key = laneOf(q.event);
    const lane = lanes.get(key);
    if (lane) lane.push(q);
    else lanes.set(key, [q]);
  };
  for (const q of input.queued ?? []) queue(q);
  setHandler(webhookEventSignal, (q) => {
    if (!q.redeliver) {
      if (seenSet.has(q.event.id)) return;
      seenSet.add(q.event.id);
      seen.push(q.event.id);
      if (seen.length > seenKept) seenSet.delete(seen.shift()!);
    }
    queue(q);
  });

  async function deliver(q: QueuedEvent) {
    try {
      const outcome = await send.deliverWebhook({ endpointId: input.endpointId, ...q });
      if (outcome.status === 'endpoint_gone') gone = true;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const error = cause instanceof Error ? cause.message : String(cause);
      await data.giveUpWebhook({ endpointId: input.endpointId, event: q.event, error });
    }
  }

  async function runLane(key: string) {
    active.add(key);
    try {
      for (let lane = lanes.get(key); lane && lane.length > 0 && !gone && !draining; lane = lanes.get(key)) {
        await deliver(lane[0]!);
        lane.shift();
      }
    } finally {
      active.delete(key);
      if (lanes.get(key)?.length === 0) lanes.delete(key);
    }
  }

  const idleLanes = () => [...lanes.keys()].filter((k) => !active.has(k) && lanes.get(k)!.length > 0);
  const wantsNewRun = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyEventsPerRun;

  for (;;) {
    await condition(() => gone || wantsNewRun() || (active.size < maxLanes && idleLanes().length > 0));
    if (gone || wantsNewRun()) break;
    for (const key of idleLanes().slice(0, maxLanes - active.size)) void runLane(key);
  }
  draining = true;
  await condition(() => active.size === 0 && allHandlersFinished());
  if (gone) return;
  await continueAsNew<typeof webhookDeliveryWorkflow>({
    ...input,
    queued: [...lanes.values()].flat(),
    seen,
  });
}
