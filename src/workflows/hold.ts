import { allHandlersFinished, ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import type { Hold } from '../stock/types';
import { data, localData } from './activity-options';
import { failureTypes } from '../contract/failures';
import { firstAnswerOf } from '../contract/line-answer';
import {
  addToCartUpdate,
  backorderFilledSignal,
  changeQuantityUpdate,
  checkoutAbandonedSignal,
  extendHoldUpdate,
  fillRefusedByLimitSignal,
  holdStateQuery,
  joinedQueueSignal,
  lockForCheckoutUpdate,
  purchasedSignal,
  removeLineUpdate,
} from '../contract/messages';
import type { AddToCartResult, CartLine, HoldWorkflowInput, LockResult } from '../contract/types';
import { CartLineRow } from './cart-line-row';
import { HoldPhase } from './hold-phase';

/** How long a checkout's lock stands before the line asks whether that checkout still runs. */
const lockLeaseMs = 2 * 60_000;

/**
 * One cart line: owns the stock it holds and the line's row in the carts database (its only writer).
 *
 * Started by update-with-start, so the shopper learns at once whether the line is `held` (with its expiry),
 * `backordered`, `waitlisted` ("notify me" on a sold-out strict SKU with a waitlist) or `out_of_stock`. A held
 * line releases its stock when the timer lapses or the shopper removes it; a checkout locks it (no expiry while
 * paying) and then marks it purchased, or hands it back. A waitlisted line is offered units by the SKU's queue
 * in join order: it is then held for the product's offerSeconds (not the cart TTL, and not extended), claimed
 * by checking out in that window; an unclaimed offer expires and its units go back to the queue, for the next.
 */
export async function holdWorkflow(input: HoldWorkflowInput): Promise<CartLine> {
  const phase = new HoldPhase();
  /** When the line first held stock: extensions never reach past heldAt + maxHoldSeconds. */
  let heldAt = Date.now();
  const row = new CartLineRow(input, heldAt);
  let first: AddToCartResult | undefined;
  /** Fills from the backorder queue not yet taken in; any the line cannot use go back before it ends. */
  const fills: Hold[] = [];
  /** The limit that made the queue pass this waitlisted line over (its buyer reached it meanwhile). */
  let passedOverByLimit: number | undefined;
  /** When the waitlist's queue received this line (its own stamp): the line's joinedAt once saved. */
  let arrivedAt: string | undefined;
  let parts = 0;
  /** Whom the product's per-customer limit counts this line for: its customer, or its cart when anonymous. */
  const buyer = { cartId: input.cartId, customerId: input.customerId };

  const assertChangeable = () => phase.assertChangeable(row.expiresAt, row.line.status);
  const revision = input.revision ?? 3;

  setHandler(holdStateQuery, () => {
    const lockedBy = phase.lockedBy;
    return { line: row.line, ...(lockedBy !== undefined ? { lockedBy } : {}) };
  });
  setHandler(addToCartUpdate, async () => {
    await condition(() => first !== undefined);
    // A repeated add (same line, e.g. a retried request) answers with the line as it is now.
    return row.line.status === 'pending' && row.line.holds.length > 0 ? row.heldResult() : first!;
  });
  setHandler(
    changeQuantityUpdate,
    async ({ quantity }) => {
      phase.startChange();
      try {
        return await changeQuantity(quantity);
      } finally {
        phase.changeDone();
      }
    },
    {
      validator: ({ quantity }) => {
        if (!Number.isInteger(quantity) || quantity < 1) throw new RangeError('quantity must be a positive integer');
        assertChangeable();
      },
    },
  );
  setHandler(
    extendHoldUpdate,
    async () => {
      const until = Math.min(Date.now() + input.ttlSeconds * 1000, heldAt + input.maxHoldSeconds * 1000);
      if (until > row.expiresAt) await row.save({ expiresAt: new Date(until).toISOString() });
      return row.heldResult();
    },
    {
      validator: () => {
        assertChangeable();
        // An offer's window is the next waiter's promise: it is claimed by checking out, not by waiting longer.
        if (row.line.offeredAt !== undefined)
          throw ApplicationFailure.create({ type: failureTypes.lineNotPending, message: 'an offer is not extended' });
      },
    },
  );
  setHandler(
    removeLineUpdate,
    async () => {
      await condition(() => !phase.movingStock);
      phase.assertUnlocked();
      phase.remove();
      await condition(() => phase.name === 'ended');
      return { line: row.line };
    },
    { validator: () => phase.assertUnlocked() },
  );
  setHandler(lockForCheckoutUpdate, async ({ orderId }): Promise<LockResult> => {
    await condition(() => !phase.movingStock);
    const lockedBy = phase.lockedBy;
    if (lockedBy !== undefined) {
      return lockedBy === orderId
        ? { status: 'locked', holds: row.line.holds, line: row.line }
        : { status: 'locked_by_other', orderId: lockedBy, line: row.line };
    }
    // A hold whose expiry is due is not handed over: the checkout must reserve again (no phantom stock).
    phase.expireIfDue(row.expiresAt);
    const current = phase.current;
    if (current.name !== 'held') {
      if (current.name === 'ending' && current.outcome === 'purchased') return { status: 'purchased', line: row.line };
      return row.line.status === 'purchased'
        ? { status: 'purchased', line: row.line }
        : { status: 'ended', line: row.line };
    }
    phase.lock(orderId);
    await row.save({ orderId });
    row.upsertStatus('locked');
    return { status: 'locked', holds: row.line.holds, line: row.line };
  });
  setHandler(purchasedSignal, ({ orderId }) => phase.purchased(orderId));
  setHandler(checkoutAbandonedSignal, ({ orderId }) => phase.handBack(orderId));
  setHandler(backorderFilledSignal, ({ hold, arrivedAt: arrived }) => {
    fills.push(hold);
    if (arrived !== undefined) arrivedAt = arrived;
  });
  setHandler(joinedQueueSignal, ({ arrivedAt: arrived }) => {
    arrivedAt = arrived;
  });
  setHandler(fillRefusedByLimitSignal, ({ limit }) => {
    passedOverByLimit = limit;
  });

  /** Gives back every fill the line has not taken (a twin of one it took, or one that came too late). */
  async function releaseFills() {
    while (fills.length > 0) await data.settleHolds({ holds: fills.splice(0), kind: 'release' });
  }

  const nextPartId = () => (parts++ === 0 ? input.holdId : `${input.holdId}:p${parts - 1}`);

  // Stock moved inside an update handler goes through regular activities: an update becomes durable when it
  // is accepted, and a local activity run before that could take stock for an update the server then drops.
  async function changeQuantity(quantity: number): Promise<AddToCartResult> {
    if (quantity > row.line.quantity) {
      const more = await data.reserveStock({
        holdId: nextPartId(),
        sku: row.line.sku,
        quantity: quantity - row.line.quantity,
        buyer,
      });
      if (more.status === 'limit_reached')
        return { status: 'limit_reached', holdId: row.line.holdId, limit: more.limit };
      if (more.status !== 'taken') {
        return {
          status: 'out_of_stock',
          holdId: row.line.holdId,
          available: more.status === 'insufficient' ? more.available : 0,
        };
      }
      await row.save({ quantity, holds: [...row.line.holds, more.hold] });
      return row.heldResult();
    }
    // Fewer: give back whole parts from the newest, and trim the last one kept (one partial release: nothing is
    // reserved again, so a shrink works on a sold-out SKU and cannot fail half way).
    const holds = [...row.line.holds];
    let drop = row.line.quantity - quantity;
    while (drop > 0) {
      const last = holds.pop()!;
      if (last.qty > drop) {
        holds.push(await data.trimHold({ hold: last, keep: last.qty - drop }));
        drop = 0;
      } else {
        await data.settleHolds({ holds: [last], kind: 'release' });
        drop -= last.qty;
      }
    }
    await row.save({ quantity, holds });
    return row.heldResult();
  }

  function startHeld(hold: Hold) {
    heldAt = Date.now();
    phase.held();
    return row.setStatus('pending', {
      holds: [hold],
      expiresAt: new Date(heldAt + input.ttlSeconds * 1000).toISOString(),
    });
  }

  /** A queue's fill lands: a backorder is held for the cart TTL, a waitlist offer for its window only. */
  function startFilled(hold: Hold, offerSeconds: number | undefined) {
    if (revision < 5) return startHeld(hold);
    heldAt = Date.now();
    const offer = phase.name === 'waitlisted';
    phase.held();
    const seconds = offer ? offerSeconds! : input.ttlSeconds;
    const changes = {
      holds: [hold],
      expiresAt: new Date(heldAt + seconds * 1000).toISOString(),
      ...(offer ? { offeredAt: new Date(heldAt).toISOString() } : {}),
      ...(offer && arrivedAt !== undefined ? { joinedAt: arrivedAt } : {}),
    };
    return row.setStatus('pending', changes, true);
  }

  // ---- the first reservation ----
  row.tagRun(input.customerId);

  /** Revision 4 on: the reservation's local activity checks for low stock and skew itself (see HoldRevision). */
  const followUp = revision >= 4;
  const { policy, outcome, offerSeconds } = await localData.reserveLineStock({
    holdId: nextPartId(),
    sku: input.sku,
    quantity: input.quantity,
    buyer,
    ...(followUp ? { followUp } : {}),
  });
  if (outcome.status === 'settled') {
    // This line lived and ended before (a run started again for its id after Temporal forgot the first one):
    // it is never reopened, and answers as it ended.
    const ended = await data.getCartLine({ cartId: input.cartId, holdId: input.holdId });
    if (ended) row.adopt(ended);
    row.endStatus(row.line.status);
    first = firstAnswerOf(row.line);
    await condition(allHandlersFinished);
    return row.line;
  }
  if (outcome.status === 'taken') {
    await startHeld(outcome.hold);
    first = row.heldResult();
    if (!followUp) await data.afterStockTaken(input.sku);
  } else if (outcome.status === 'limit_reached') {
    // Like a refusal for stock: nothing was taken and no line is written.
    row.refuseByLimit(outcome.limit);
    row.endStatus('limit_reached');
    first = { status: 'limit_reached', holdId: input.holdId, limit: outcome.limit };
    await condition(allHandlersFinished);
    return row.line;
  } else if (
    revision >= 5 &&
    input.waitlist &&
    policy === 'strict' &&
    offerSeconds !== undefined &&
    outcome.status === 'insufficient' &&
    outcome.available === 0
  ) {
    // Only a SKU sold out joins its waitlist: with units on sale, fewer than asked, the line is refused with
    // what there is, as any line (waiting for more would keep those units from everyone else).
    phase.waitlisted();
    const joinedAt = new Date().toISOString();
    await row.setStatus('waitlisted', { joinedAt });
    await data.enqueueBackorder({
      sku: input.sku,
      entry: { holdId: input.holdId, quantity: input.quantity, arrivedAt: joinedAt, waitlist: true, buyer },
    });
    first = { status: 'waitlisted', holdId: input.holdId, quantity: input.quantity };
  } else if (policy === 'backorder') {
    phase.backordered();
    await row.setStatus('backordered');
    await data.enqueueBackorder({
      sku: input.sku,
      entry: { holdId: input.holdId, quantity: input.quantity, arrivedAt: row.line.updatedAt },
    });
    first = { status: 'backordered', holdId: input.holdId, quantity: input.quantity };
  } else {
    // Nothing was taken and no line is written: the shopper was refused.
    row.endStatus('out_of_stock');
    first = { status: 'out_of_stock', holdId: input.holdId, available: outcome.available };
    await condition(allHandlersFinished);
    return row.line;
  }

  // ---- the line's life ----
  while (phase.name !== 'ended') {
    const current = phase.current;
    switch (current.name) {
      case 'backordered':
      case 'waitlisted': {
        const moved = () => fills.length > 0 || !phase.queued || passedOverByLimit !== undefined;
        // The queue's stamp of the line's arrival replaces the line's own: the row keeps the queue's order.
        const restamped = () => arrivedAt !== undefined && arrivedAt !== row.line.joinedAt;
        await condition(() => moved() || restamped());
        if (!moved()) {
          await row.save({ joinedAt: arrivedAt! });
        } else if (phase.queued && fills.length === 0) {
          // The queue dropped the entry: the line leaves the waitlist (it holds nothing) and ends.
          row.refuseByLimit(passedOverByLimit!);
          phase.remove();
        } else if (phase.queued) {
          await startFilled(fills.shift()!, offerSeconds);
          // A fill takes stock too, so it may leave the SKU low.
          await data.afterStockTaken(input.sku);
        }
        break;
      }
      case 'changing':
      case 'reserving':
        await condition(() => !phase.movingStock);
        break;
      case 'held': {
        if (row.line.orderId !== undefined) {
          // Handed back: the line is the cart's again. The hand-back may have come while the loop was anywhere
          // (even before it first saw the lock, e.g. awaiting afterStockTaken), so the held phase itself makes
          // the row match, not the code that saw the lock end. It may then expire at once if its time has come.
          row.dropOrder();
          row.upsertStatus('pending');
          await row.save({});
          break;
        }
        const deadline = row.expiresAt;
        await condition(
          () => phase.name !== 'held' || row.expiresAt !== deadline || fills.length > 0,
          Math.max(0, deadline - Date.now()),
        );
        // A fill the line no longer needs (a twin of one it took) goes back to the queue at once.
        await releaseFills();
        // The timer and a lock or an extension can land in the same activation: only a held line whose expiry
        // has come expires.
        phase.expireIfDue(row.expiresAt);
        break;
      }
      case 'locked': {
        const { orderId } = current;
        const stillLocked = () => phase.lockedBy === orderId;
        // Handed back (the held phase saves the row without the order) or purchased.
        if (await condition(() => !stillLocked(), lockLeaseMs)) break;
        // The lease lapsed: a checkout that no longer runs (terminated, or lost) must not strand the line.
        const standing = await data.checkoutStanding({ cartId: input.cartId, orderId, holdId: input.holdId });
        if (!stillLocked() || standing === 'running') break;
        if (standing === 'completed') {
          // The order stands with this line in it: finish its last step for this line (settles are idempotent).
          await data.settleHolds({ holds: row.line.holds, kind: 'commit' });
          phase.sold();
        } else {
          log.warn('lock of an ended checkout lapsed: the line is the cart’s again', { holdId: input.holdId, orderId });
          phase.handBack(orderId);
        }
        break;
      }
      case 'ending': {
        const { outcome: how } = current;
        if (how === 'purchased') {
          await row.setStatus('purchased');
        } else if (row.line.status === 'waitlisted' && row.line.refusedByLimit !== undefined) {
          // Passed over by the queue for the buyer's limit: the row says why, and the queue has dropped it.
          row.upsertStatus('limit_reached');
          await row.save({ status: 'removed', ...(arrivedAt !== undefined ? { joinedAt: arrivedAt } : {}) });
        } else if (row.line.status === 'waitlisted') {
          // Left before the queue hears of it: whoever the queue offers next was offered after this line left.
          await row.setStatus(how, arrivedAt !== undefined ? { joinedAt: arrivedAt } : {});
          await data.cancelBackorder({ sku: row.line.sku, holdId: row.line.holdId });
        } else {
          if (row.line.status === 'backordered')
            await data.cancelBackorder({ sku: row.line.sku, holdId: row.line.holdId });
          else if (row.line.holds.length > 0) await data.settleHolds({ holds: row.line.holds, kind: 'release' });
          await row.setStatus(how);
        }
        phase.ended();
        break;
      }
    }
  }
  // Fills that raced the end of the line go back to the queue (before and after the last handlers finish).
  await releaseFills();
  log.info('line ended', { holdId: row.line.holdId, status: row.line.status });
  await condition(allHandlersFinished);
  await releaseFills();
  return row.line;
}
