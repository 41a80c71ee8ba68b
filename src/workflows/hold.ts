import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Hold } from '../stock/types';
import { data, localData } from './activity-options';
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
} from './messages';
import { CartId, CustomerId, HoldStatus, Sku } from './search-attributes';
import type { AddToCartResult, CartLine, HoldWorkflowInput, LineStatus, LockResult } from './types';

/**
 * One cart line: owns the stock it holds and the line's row in the carts database (its only writer).
 *
 * Started by update-with-start, so the shopper learns at once whether the line is `held` (with its expiry),
 * `backordered` or `out_of_stock`. A held line releases its stock when the timer lapses or the shopper removes
 * it; a checkout locks it (no expiry while paying) and then marks it purchased, or hands it back.
 */
export async function holdWorkflow(input: HoldWorkflowInput): Promise<CartLine> {
  // Runs started before revision 2 carry no revision: they replay the commands they were recorded with,
  // patches included. Newer runs skip the patch markers (and the search-attribute upsert each one costs).
  const legacy = input.revision === undefined;
  // Added after the first release: ledger and cart writes run as local activities (no server round trip
  // each), which is most of an add-to-cart's latency. Runs recorded before keep their regular activities.
  const db = legacy && !patched('local-activities-for-ledger-and-cart') ? data : localData;
  /** When the line first held stock: extensions never reach past heldAt + maxHoldSeconds. */
  let heldAt = Date.now();
  let line: CartLine = {
    holdId: input.holdId,
    cartId: input.cartId,
    sku: input.sku,
    quantity: input.quantity,
    status: 'pending',
    holds: [],
    updatedAt: new Date(heldAt).toISOString(),
  };
  let first: AddToCartResult | undefined;
  let lockedBy: string | undefined;
  let purchased = false;
  let removeRequested = false;
  let filled: Hold | undefined;
  /** Set once the line is ending (expiry, removal): no lock or change may start after it. */
  let ending = false;
  /** Updates that move stock run one at a time, and never while the line ends. */
  let busy = false;
  let parts = 0;

  const expiresAt = () => (line.expiresAt ? Date.parse(line.expiresAt) : Infinity);
  const heldResult = (): AddToCartResult => ({
    status: 'held',
    holdId: line.holdId,
    quantity: line.quantity,
    expiresAt: line.expiresAt!,
  });
  const assertChangeable = () => {
    if (line.status !== 'pending' || ending)
      throw ApplicationFailure.create({ type: 'LineNotPending', message: `line is ${line.status}` });
    if (lockedBy)
      throw ApplicationFailure.create({ type: 'LineLocked', message: `line is being checked out (${lockedBy})` });
  };

  setHandler(holdStateQuery, () => ({ line, ...(lockedBy ? { lockedBy } : {}) }));
  setHandler(addToCartUpdate, async () => {
    await condition(() => first !== undefined);
    // A repeated add (same line, e.g. a retried request) answers with the line as it is now.
    return line.status === 'pending' && line.holds.length > 0 ? heldResult() : first!;
  });
  setHandler(
    changeQuantityUpdate,
    async ({ quantity }) => {
      busy = true;
      try {
        return await changeQuantity(quantity);
      } finally {
        busy = false;
      }
    },
    {
      validator: ({ quantity }) => {
        if (!Number.isInteger(quantity) || quantity < 1) throw new RangeError('quantity must be a positive integer');
        if (busy) throw ApplicationFailure.create({ type: 'LineBusy', message: 'another change is in progress' });
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
      removeRequested = true;
      await condition(() => line.status !== 'pending' && line.status !== 'backordered');
      return { line };
    },
    {
      validator: () => {
        if (lockedBy) throw ApplicationFailure.create({ type: 'LineLocked', message: `line is being checked out` });
      },
    },
  );
  setHandler(lockForCheckoutUpdate, async ({ orderId }): Promise<LockResult> => {
    await condition(() => !busy);
    // A hold whose expiry is due is not handed over: the checkout must reserve again (no phantom stock).
    const due = Date.now() >= expiresAt();
    if (line.status !== 'pending' || ending || due || (lockedBy && lockedBy !== orderId)) {
      return { status: 'unavailable', line };
    }
    lockedBy = orderId;
    await save({ orderId });
    return { status: 'locked', holds: line.holds, line };
  });
  setHandler(purchasedSignal, ({ orderId }) => {
    if (lockedBy === orderId) purchased = true;
  });
  setHandler(checkoutAbandonedSignal, ({ orderId }) => {
    if (lockedBy === orderId) lockedBy = undefined;
  });
  setHandler(backorderFilledSignal, ({ hold }) => {
    filled = hold;
  });

  async function save(changes: Partial<CartLine>) {
    line = { ...line, ...changes, updatedAt: new Date().toISOString() };
    await db.saveCartLine(line);
  }

  async function setStatus(status: LineStatus, changes: Partial<CartLine> = {}) {
    upsertSearchAttributes([{ key: HoldStatus, value: status } as SearchAttributeUpdatePair]);
    await save({ ...changes, status });
  }

  async function releaseAll() {
    if (line.holds.length === 0) return;
    await db.settleHolds({ holds: line.holds, kind: 'release' });
  }

  const nextPartId = () => (parts++ === 0 ? input.holdId : `${input.holdId}:p${parts - 1}`);

  // Stock moved inside an update handler goes through regular activities: an update becomes durable when it
  // is accepted, and a local activity run before that could take stock for an update the server then drops.
  async function changeQuantity(quantity: number): Promise<AddToCartResult> {
    if (quantity > line.quantity) {
      const more = await data.reserveStock({ holdId: nextPartId(), sku: line.sku, quantity: quantity - line.quantity });
      if (more.status !== 'taken') return { status: 'out_of_stock', holdId: line.holdId, available: more.available };
      await save({ quantity, holds: [...line.holds, more.hold] });
      return heldResult();
    }
    // Fewer: give back whole parts from the newest; a part to split is re-reserved smaller before it is released.
    let holds = [...line.holds];
    let drop = line.quantity - quantity;
    while (drop > 0) {
      const last = holds.at(-1)!;
      if (last.qty > drop) {
        const kept = await data.reserveStock({ holdId: nextPartId(), sku: line.sku, quantity: last.qty - drop });
        if (kept.status !== 'taken') {
          throw ApplicationFailure.create({ type: 'OutOfStock', message: 'could not split the hold' });
        }
        holds = [...holds.slice(0, -1), kept.hold];
      } else {
        holds = holds.slice(0, -1);
      }
      await data.settleHolds({ holds: [last], kind: 'release' });
      drop -= Math.min(drop, last.qty);
    }
    await save({ quantity, holds });
    return heldResult();
  }

  // ---- the first reservation ----
  // Revision 2 runs get their search attributes at start (holdStartOperation); set them if a caller did not.
  if (legacy || workflowInfo().typedSearchAttributes.get(CartId) !== input.cartId) {
    upsertSearchAttributes([
      { key: CartId, value: input.cartId },
      { key: Sku, value: input.sku },
      ...(input.customerId ? [{ key: CustomerId, value: input.customerId }] : []),
    ] as SearchAttributeUpdatePair[]);
  }

  const { policy, outcome } = legacy
    ? {
        policy: (await db.productInfo(input.sku)).policy,
        outcome: await db.reserveStock({ holdId: nextPartId(), sku: input.sku, quantity: input.quantity }),
      }
    : await db.reserveLineStock({ holdId: nextPartId(), sku: input.sku, quantity: input.quantity });
  if (outcome.status === 'taken') {
    heldAt = Date.now();
    await setStatus('pending', {
      holds: [outcome.hold],
      expiresAt: new Date(heldAt + input.ttlSeconds * 1000).toISOString(),
    });
    first = heldResult();
    await data.afterStockTaken(input.sku);
  } else if (policy === 'backorder') {
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
  for (;;) {
    if (line.status === 'backordered') {
      await condition(() => filled !== undefined || removeRequested);
      if (filled) {
        heldAt = Date.now();
        await setStatus('pending', {
          holds: [filled],
          expiresAt: new Date(heldAt + input.ttlSeconds * 1000).toISOString(),
        });
        filled = undefined;
        // Added after the first release (recorded histories replay without it): a fill takes stock too, so
        // it may leave the SKU low.
        if (!legacy || patched('low-stock-check-after-backorder-fill')) await data.afterStockTaken(input.sku);
        continue;
      }
      await data.cancelBackorder({ sku: line.sku, holdId: line.holdId });
      await setStatus('removed');
      break;
    }
    if (lockedBy) {
      await condition(() => purchased || lockedBy === undefined);
      if (purchased) {
        await setStatus('purchased');
        break;
      }
      continue;
    }
    const deadline = expiresAt();
    await condition(
      () => removeRequested || lockedBy !== undefined || expiresAt() !== deadline,
      Math.max(0, deadline - Date.now()),
    );
    // The timer and a lock or an extension can land in the same activation: whatever the wait returned, a
    // locked line or one whose expiry moved does not expire now.
    if (!removeRequested && (lockedBy !== undefined || Date.now() < expiresAt())) continue;
    ending = true;
    await condition(() => !busy);
    await releaseAll();
    await setStatus(removeRequested ? 'removed' : 'expired');
    break;
  }
  // A filled backorder that raced the end of the line goes back.
  if (filled) await db.settleHolds({ holds: [filled], kind: 'release' });
  log.info('line ended', { holdId: line.holdId, status: line.status });
  await condition(allHandlersFinished);
  return line;
}
