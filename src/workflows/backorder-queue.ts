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
  fillRefusedByLimitSignal,
  joinedQueueSignal,
  reprioritiseBackorderSignal,
  restockSignal,
  unitsReturnedSignal,
} from '../contract/messages';
import type { BackorderEntry } from '../contract/types';
import { workflowIds } from '../contract/workflow-ids';

export interface BackorderQueueInput {
  readonly sku: string;
  /** Carried over continue-as-new. */
  readonly waiting?: readonly BackorderEntry[];
  readonly restocks?: readonly { opId: string; quantity: number }[];
  readonly filled?: number;
  /** Numbers this queue's own ledger operations (fills, sweeps, releases): each is a new operation id. */
  readonly seq?: number;
  /** Whether stock or the queue changed since the last pass. */
  readonly dirty?: boolean;
  /** The hold ids of the latest entries filled or passed over, oldest first (at most `servedKept`). */
  readonly served?: readonly string[];
}

/**
 * How many served hold ids a queue remembers: a line's enqueue is retried within its activity's retries
 * (seconds to minutes), far fewer fills than this.
 */
const servedKept = 1000;

/**
 * The waiting backorders of one backorder-policy SKU, or the waitlist of a strict SKU that has one (a fill of a
 * waitlist entry is an offer: the line holds it for the product's offerSeconds, and if it is not bought in that
 * window the units come back `incoming`, to the next in line), in arrival order (ops may reprioritise). Every unit that
 * could serve them goes to them first: restocks are received `incoming` (new shoppers cannot take it), units
 * released by lines (expiry, removal, a shrink) come back `incoming` too, and while anyone waits a pass moves
 * whatever is `available` to `incoming`. A pass then fills backorders strictly from the head, and a waitlist's
 * entries in join order among those whose quantity fits the units there are; what is left when nobody waits
 * goes on general sale. Lives as long as the SKU, continuing as new whenever Temporal suggests it.
 *
 * Entries are found by hold id, never by position: a cancel or a reprioritise that lands while a fill awaits
 * its reservation cannot make the pass drop or skip another waiter.
 */
export async function backorderQueueWorkflow(input: BackorderQueueInput): Promise<void> {
  const waiting: BackorderEntry[] = [...(input.waiting ?? [])];
  const restocks = [...(input.restocks ?? [])];
  let filled = input.filled ?? 0;
  let seq = input.seq ?? 0;
  let dirty = input.dirty ?? false;
  const served = [...(input.served ?? [])];
  /** An entry that has left the queue by a fill or a refusal; a retried enqueue of it must not bring it back. */
  const remember = (holdId: string) => {
    served.push(holdId);
    if (served.length > servedKept) served.splice(0, served.length - servedKept);
  };

  let busy = false;
  setHandler(backorderQueueQuery, () => ({ sku: input.sku, waiting, filled, busy: busy || dirty }));
  /** The latest arrival this queue stamped (ms): a waitlist's stamps only go up, so no two arrivals tie. */
  let lastArrival = Math.max(0, ...waiting.filter((w) => w.waitlist).map((w) => Date.parse(w.arrivedAt)));
  setHandler(enqueueBackorderSignal, async (entry) => {
    // A retried enqueue (its activity signalled, then failed) must not put an entry that was served back first.
    if (waiting.some((w) => w.holdId === entry.holdId) || served.includes(entry.holdId)) return;
    if (!entry.waitlist) {
      waiting.push(entry);
      dirty = true;
      return;
    }
    // A waitlist is served in the order its entries arrive here, whenever each line asked: the queue stamps the
    // arrival and tells the line, whose row keeps it as joinedAt (what rule 13 judges the order by).
    lastArrival = Math.max(Date.now(), lastArrival + 1);
    const arrivedAt = new Date(lastArrival).toISOString();
    waiting.push({ ...entry, arrivedAt });
    dirty = true;
    try {
      await getExternalWorkflowHandle(workflowIds.hold(entry.holdId)).signal(joinedQueueSignal, { arrivedAt });
    } catch (err) {
      log.warn('waitlisted line is gone', { holdId: entry.holdId, err });
    }
  });
  setHandler(cancelBackorderSignal, ({ holdId }) => {
    const i = waiting.findIndex((w) => w.holdId === holdId);
    if (i >= 0) waiting.splice(i, 1);
    dirty = true;
  });
  setHandler(reprioritiseBackorderSignal, ({ holdId, position }) => {
    const i = waiting.findIndex((w) => w.holdId === holdId);
    if (i < 0) return;
    const [entry] = waiting.splice(i, 1);
    waiting.splice(Math.max(0, Math.min(position, waiting.length)), 0, entry!);
    dirty = true;
  });
  setHandler(restockSignal, (restock) => {
    restocks.push(restock);
    dirty = true;
  });
  setHandler(unitsReturnedSignal, () => {
    dirty = true;
  });

  const tooLong = () => workflowInfo().continueAsNewSuggested;
  const nextOpId = (what: string) => `backorders:${input.sku}:${what}:${seq++}`;

  while (!tooLong()) {
    await condition(() => dirty || tooLong());
    if (!dirty) break;
    dirty = false;
    busy = true;
    await pass();
    busy = false;
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof backorderQueueWorkflow>({
    sku: input.sku,
    waiting,
    restocks,
    filled,
    seq,
    dirty,
    served,
  });

  /** One pass: receive restocks, keep every sellable unit for the waiting, fill from the head, release the rest. */
  async function pass() {
    while (restocks.length > 0) {
      const restock = restocks[0]!;
      await data.restockStock({ opId: restock.opId, sku: input.sku, quantity: restock.quantity, to: 'incoming' });
      restocks.shift();
      if (tooLong()) return carryOn();
    }
    if (waiting.length > 0) await data.holdForBackorders({ opId: nextOpId('sweep'), sku: input.sku });
    /** The most units a fill can find now: unknown until a fill is refused for want of units. */
    let fits = Infinity;
    for (;;) {
      // A backorder queue is served strictly from its head (the first that cannot be filled yet keeps its place
      // and the incoming units). A waitlist offers to the first in join order whose quantity fits what there is,
      // so one big request cannot keep the units from everyone after it.
      const next = waiting[0]?.waitlist
        ? waiting.find((w) => w.quantity <= fits)
        : fits === Infinity
          ? waiting[0]
          : undefined;
      if (!next) break;
      // Each attempt is a new operation: a taking operation's outcome is recorded once, refusals included. A
      // waitlist entry's fill is counted in its buyer's allowance, like any hold of a limited SKU.
      const outcome = await data.reserveStock({
        holdId: `${next.holdId}:fill:${seq++}`,
        sku: input.sku,
        quantity: next.quantity,
        from: 'incoming',
        ...(next.buyer ? { buyer: next.buyer } : {}),
      });
      if (outcome.status === 'limit_reached') {
        // Its buyer holds or bought the limit by now: the entry leaves (the line is told and ends), and the
        // units go to the next in line. Nothing was taken.
        const gone = waiting.findIndex((w) => w.holdId === next.holdId);
        if (gone >= 0) waiting.splice(gone, 1);
        remember(next.holdId);
        try {
          await getExternalWorkflowHandle(workflowIds.hold(next.holdId)).signal(fillRefusedByLimitSignal, {
            limit: outcome.limit,
          });
        } catch (err) {
          log.warn('waitlisted line is gone', { holdId: next.holdId, err });
        }
        continue;
      }
      if (outcome.status === 'insufficient') {
        // Below what was asked whatever the refusal counted, so the search for one that fits always ends.
        fits = Math.min(outcome.available, next.quantity - 1);
        continue;
      }
      if (outcome.status !== 'taken') return;
      const at = waiting.findIndex((w) => w.holdId === next.holdId);
      if (at < 0) {
        // Cancelled while its fill was being reserved: the units go back to the waiting.
        await data.settleHolds({ holds: [outcome.hold], kind: 'release' });
        fits = Infinity;
        continue;
      }
      waiting.splice(at, 1);
      remember(next.holdId);
      filled++;
      fits -= next.quantity;
      try {
        await getExternalWorkflowHandle(workflowIds.hold(next.holdId)).signal(backorderFilledSignal, {
          hold: outcome.hold,
          ...(next.waitlist ? { arrivedAt: next.arrivedAt } : {}),
        });
      } catch (err) {
        log.warn('backordered line is gone; releasing its fill', { holdId: next.holdId, err });
        await data.settleHolds({ holds: [outcome.hold], kind: 'release' });
      }
      if (tooLong()) return carryOn();
    }
    // Units nobody waiting can take yet stay `incoming` for them; with nobody waiting they go on sale.
    if (waiting.length === 0) await data.releaseIncoming({ opId: nextOpId('leftover'), sku: input.sku });
  }

  /** Stops a pass mid-way for continue-as-new: the next run picks it up. */
  function carryOn() {
    dirty = true;
  }
}
