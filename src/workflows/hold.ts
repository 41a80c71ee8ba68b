import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
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
  holdStateQuery,
  lockForCheckoutUpdate,
  purchasedSignal,
  removeLineUpdate,
} from '../contract/messages';
import { CartId, CustomerId, HoldStatus, Sku } from '../contract/search-attributes';
import type { AddToCartResult, CartLine, HoldWorkflowInput, LineStatus, LockResult } from '../contract/types';

/**
 * Where a line is in its life: exactly one phase at a time, so no combination of flags can be half true.
 *   reserving → held | backordered | (refused: the run ends)
 *   held → changing → held;  held → locked → held (abandoned, lease lapsed) | ending(purchased)
 *   held → ending(expired | removed);  backordered → held (filled) | ending(removed)
 *   ending → ended
 * Handlers only move between phases; the main loop does the phase's work (release, save, wait).
 */
type Phase =
  | { readonly name: 'reserving' }
  | { readonly name: 'held' }
  /** A quantity change is moving stock: nothing else may start until it is done. */
  | { readonly name: 'changing' }
  | { readonly name: 'locked'; readonly orderId: string }
  | { readonly name: 'backordered' }
  | { readonly name: 'ending'; readonly outcome: 'expired' | 'removed' | 'purchased' }
  | { readonly name: 'ended' };

/** How long a checkout's lock stands before the line asks whether that checkout still runs. */
const lockLeaseMs = 2 * 60_000;

/**
 * One cart line: owns the stock it holds and the line's row in the carts database (its only writer).
 *
 * Started by update-with-start, so the shopper learns at once whether the line is `held` (with its expiry),
 * `backordered` or `out_of_stock`. A held line releases its stock when the timer lapses or the shopper removes
 * it; a checkout locks it (no expiry while paying) and then marks it purchased, or hands it back.
 */
export async function holdWorkflow(input: HoldWorkflowInput): Promise<CartLine> {
  let phase: Phase = { name: 'reserving' };
  /** When the line first held stock: extensions never reach past heldAt + maxHoldSeconds. */
  let heldAt = Date.now();
  let line: CartLine = {
    holdId: input.holdId,
    cartId: input.cartId,
    sku: input.sku,
    quantity: input.quantity,
    status: 'pending',
    holds: [],
    rev: 0,
    updatedAt: new Date(heldAt).toISOString(),
  };
  let first: AddToCartResult | undefined;
  /** Fills from the backorder queue not yet taken in; any the line cannot use go back before it ends. */
  const fills: Hold[] = [];
  let parts = 0;

  const expiresAt = () => (line.expiresAt ? Date.parse(line.expiresAt) : Infinity);
  const heldResult = (): AddToCartResult => ({
    status: 'held',
    holdId: line.holdId,
    quantity: line.quantity,
    expiresAt: line.expiresAt!,
  });
  /** Changes (quantity, extension) are for a held line that nobody is checking out. */
  const assertChangeable = () => {
    if (phase.name === 'changing')
      throw ApplicationFailure.create({ type: failureTypes.lineBusy, message: 'another change is in progress' });
    if (phase.name === 'locked')
      throw ApplicationFailure.create({
        type: failureTypes.lineLocked,
        message: `line is being checked out (${phase.orderId})`,
      });
    if (phase.name !== 'held' || Date.now() >= expiresAt())
      throw ApplicationFailure.create({ type: failureTypes.lineNotPending, message: `line is ${line.status}` });
  };

  setHandler(holdStateQuery, () => ({ line, ...(phase.name === 'locked' ? { lockedBy: phase.orderId } : {}) }));
  setHandler(addToCartUpdate, async () => {
    await condition(() => first !== undefined);
    // A repeated add (same line, e.g. a retried request) answers with the line as it is now.
    return line.status === 'pending' && line.holds.length > 0 ? heldResult() : first!;
  });
  setHandler(
    changeQuantityUpdate,
    async ({ quantity }) => {
      phase = { name: 'changing' };
      try {
        return await changeQuantity(quantity);
      } finally {
        phase = { name: 'held' };
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
      if (until > expiresAt()) await save({ expiresAt: new Date(until).toISOString() });
      return heldResult();
    },
    { validator: assertChangeable },
  );
  setHandler(
    removeLineUpdate,
    async () => {
      await condition(() => phase.name !== 'changing' && phase.name !== 'reserving');
      if (phase.name === 'locked') {
        throw ApplicationFailure.create({ type: failureTypes.lineLocked, message: 'line is being checked out' });
      }
      if (phase.name === 'held' || phase.name === 'backordered') phase = { name: 'ending', outcome: 'removed' };
      await condition(() => phase.name === 'ended');
      return { line };
    },
    {
      validator: () => {
        if (phase.name === 'locked') {
          throw ApplicationFailure.create({ type: failureTypes.lineLocked, message: 'line is being checked out' });
        }
      },
    },
  );
  setHandler(lockForCheckoutUpdate, async ({ orderId }): Promise<LockResult> => {
    await condition(() => phase.name !== 'changing' && phase.name !== 'reserving');
    if (phase.name === 'locked') {
      return phase.orderId === orderId
        ? { status: 'locked', holds: line.holds, line }
        : { status: 'locked_by_other', orderId: phase.orderId, line };
    }
    // A hold whose expiry is due is not handed over: the checkout must reserve again (no phantom stock).
    if (phase.name === 'held' && Date.now() >= expiresAt()) phase = { name: 'ending', outcome: 'expired' };
    if (phase.name !== 'held') {
      if (phase.name === 'ending' && phase.outcome === 'purchased') return { status: 'purchased', line };
      return line.status === 'purchased' ? { status: 'purchased', line } : { status: 'ended', line };
    }
    phase = { name: 'locked', orderId };
    await save({ orderId });
    upsertStatus('locked');
    return { status: 'locked', holds: line.holds, line };
  });
  setHandler(purchasedSignal, ({ orderId }) => {
    if (phase.name === 'locked' && phase.orderId === orderId) phase = { name: 'ending', outcome: 'purchased' };
  });
  setHandler(checkoutAbandonedSignal, ({ orderId }) => {
    if (phase.name === 'locked' && phase.orderId === orderId) phase = { name: 'held' };
  });
  setHandler(backorderFilledSignal, ({ hold }) => {
    fills.push(hold);
  });

  /** Saves run one after another, in rev order, whether the main loop or a handler asks (see replaceUnlessNewer). */
  let saving: Promise<void> = Promise.resolve();
  async function save(changes: Partial<CartLine>) {
    line = { ...line, ...changes, rev: line.rev + 1, updatedAt: new Date().toISOString() };
    const state = line;
    const saved = saving.then(() => localData.saveCartLine(state));
    saving = saved.catch(() => undefined);
    await saved;
  }

  function upsertStatus(status: LineStatus | 'held' | 'locked') {
    upsertSearchAttributes([
      { key: HoldStatus, value: status === 'pending' ? 'held' : status } as SearchAttributeUpdatePair,
    ]);
  }

  async function setStatus(status: LineStatus, changes: Partial<CartLine> = {}) {
    upsertStatus(status);
    await save({ ...changes, status });
  }

  /** Gives back every fill the line has not taken (a twin of one it took, or one that came too late). */
  async function releaseFills() {
    while (fills.length > 0) await data.settleHolds({ holds: fills.splice(0), kind: 'release' });
  }

  const nextPartId = () => (parts++ === 0 ? input.holdId : `${input.holdId}:p${parts - 1}`);

  // Stock moved inside an update handler goes through regular activities: an update becomes durable when it
  // is accepted, and a local activity run before that could take stock for an update the server then drops.
  async function changeQuantity(quantity: number): Promise<AddToCartResult> {
    if (quantity > line.quantity) {
      const more = await data.reserveStock({ holdId: nextPartId(), sku: line.sku, quantity: quantity - line.quantity });
      if (more.status !== 'taken') {
        return {
          status: 'out_of_stock',
          holdId: line.holdId,
          available: more.status === 'insufficient' ? more.available : 0,
        };
      }
      await save({ quantity, holds: [...line.holds, more.hold] });
      return heldResult();
    }
    // Fewer: give back whole parts from the newest, and trim the last one kept (one partial release: nothing is
    // reserved again, so a shrink works on a sold-out SKU and cannot fail half way).
    const holds = [...line.holds];
    let drop = line.quantity - quantity;
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
    await save({ quantity, holds });
    return heldResult();
  }

  function startHeld(hold: Hold) {
    heldAt = Date.now();
    phase = { name: 'held' };
    return setStatus('pending', { holds: [hold], expiresAt: new Date(heldAt + input.ttlSeconds * 1000).toISOString() });
  }

  // ---- the first reservation ----
  // Runs get their search attributes at start (holdStartOperation); set them if a caller did not.
  if (workflowInfo().typedSearchAttributes.get(CartId) !== input.cartId) {
    upsertSearchAttributes([
      { key: CartId, value: input.cartId },
      { key: Sku, value: input.sku },
      ...(input.customerId ? [{ key: CustomerId, value: input.customerId }] : []),
    ] as SearchAttributeUpdatePair[]);
  }

  const { policy, outcome } = await localData.reserveLineStock({
    holdId: nextPartId(),
    sku: input.sku,
    quantity: input.quantity,
  });
  if (outcome.status === 'settled') {
    // This line lived and ended before (a run started again for its id after Temporal forgot the first one):
    // it is never reopened, and answers as it ended.
    const ended = await data.getCartLine({ cartId: input.cartId, holdId: input.holdId });
    if (ended) line = ended;
    first = firstAnswerOf(line);
    await condition(allHandlersFinished);
    return line;
  }
  if (outcome.status === 'taken') {
    await startHeld(outcome.hold);
    first = heldResult();
    await data.afterStockTaken(input.sku);
  } else if (policy === 'backorder') {
    phase = { name: 'backordered' };
    await setStatus('backordered');
    await data.enqueueBackorder({
      sku: input.sku,
      entry: { holdId: input.holdId, quantity: input.quantity, arrivedAt: line.updatedAt },
    });
    first = { status: 'backordered', holdId: input.holdId, quantity: input.quantity };
  } else {
    // Nothing was taken and no line is written: the shopper was refused.
    first = { status: 'out_of_stock', holdId: input.holdId, available: outcome.available };
    await condition(allHandlersFinished);
    return line;
  }

  // ---- the line's life ----
  // Read through a function: handlers change the phase while the loop awaits, which the compiler cannot see.
  const now = (): Phase => phase;
  while (now().name !== 'ended') {
    const current = now();
    switch (current.name) {
      case 'backordered':
        await condition(() => fills.length > 0 || phase.name !== 'backordered');
        if (phase.name === 'backordered') {
          await startHeld(fills.shift()!);
          // A fill takes stock too, so it may leave the SKU low.
          await data.afterStockTaken(input.sku);
        }
        break;
      case 'changing':
      case 'reserving':
        await condition(() => phase.name !== 'changing' && phase.name !== 'reserving');
        break;
      case 'held': {
        const deadline = expiresAt();
        await condition(
          () => phase.name !== 'held' || expiresAt() !== deadline || fills.length > 0,
          Math.max(0, deadline - Date.now()),
        );
        // A fill the line no longer needs (a twin of one it took) goes back to the queue at once.
        await releaseFills();
        // The timer and a lock or an extension can land in the same activation: only a held line whose expiry
        // has come expires.
        if (phase.name === 'held' && Date.now() >= expiresAt()) phase = { name: 'ending', outcome: 'expired' };
        break;
      }
      case 'locked': {
        const { orderId } = current;
        const stillLocked = () => phase.name === 'locked' && phase.orderId === orderId;
        if (await condition(() => !stillLocked(), lockLeaseMs)) {
          if (phase.name === 'held') {
            // Handed back: the line is the cart's again, and may expire at once if its time has come.
            line = withoutOrder(line);
            upsertStatus('pending');
            await save({});
          }
          break;
        }
        // The lease lapsed: a checkout that no longer runs (terminated, or lost) must not strand the line.
        const standing = await data.checkoutStanding({ cartId: input.cartId, orderId, holdId: input.holdId });
        if (!stillLocked() || standing === 'running') break;
        if (standing === 'completed') {
          // The order stands with this line in it: finish its last step for this line (settles are idempotent).
          await data.settleHolds({ holds: line.holds, kind: 'commit' });
          phase = { name: 'ending', outcome: 'purchased' };
        } else {
          log.warn('lock of an ended checkout lapsed: the line is the cart’s again', { holdId: input.holdId, orderId });
          phase = { name: 'held' };
        }
        break;
      }
      case 'ending': {
        const { outcome: how } = current;
        if (how === 'purchased') {
          await setStatus('purchased');
        } else {
          if (line.status === 'backordered') await data.cancelBackorder({ sku: line.sku, holdId: line.holdId });
          else if (line.holds.length > 0) await data.settleHolds({ holds: line.holds, kind: 'release' });
          await setStatus(how);
        }
        phase = { name: 'ended' };
        break;
      }
    }
  }
  // Fills that raced the end of the line go back to the queue (before and after the last handlers finish).
  await releaseFills();
  log.info('line ended', { holdId: line.holdId, status: line.status });
  await condition(allHandlersFinished);
  await releaseFills();
  return line;
}

function withoutOrder(line: CartLine): CartLine {
  const copy = { ...line };
  delete (copy as { orderId?: string }).orderId;
  return copy;
}
