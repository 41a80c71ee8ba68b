import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { localData } from './activity-options';
import { CartId, CustomerId, HoldStatus, Sku } from '../contract/search-attributes';
import type { AddToCartResult, CartLine, HoldWorkflowInput, LineStatus } from '../contract/types';

/**
 * A hold workflow's cart line as it last wrote it: the workflow is the only writer of the line's row in the carts
 * database. Every save bumps the rev, and saves run one after another, in rev order, whether the main loop or a
 * handler asks (see replaceUnlessNewer).
 */
export class CartLineRow {
  #line: CartLine;
  #saving: Promise<void> = Promise.resolve();

  constructor(input: HoldWorkflowInput, now: number) {
    this.#line = {
      holdId: input.holdId,
      cartId: input.cartId,
      sku: input.sku,
      quantity: input.quantity,
      status: 'pending',
      holds: [],
      rev: 0,
      updatedAt: new Date(now).toISOString(),
    };
  }

  get line(): CartLine {
    return this.#line;
  }

  /** When the hold lapses: never while the line has no expiry. */
  get expiresAt(): number {
    return this.#line.expiresAt ? Date.parse(this.#line.expiresAt) : Infinity;
  }

  /** Add-to-cart's answer for the line while it holds stock. */
  heldResult(): AddToCartResult {
    return {
      status: 'held',
      holdId: this.#line.holdId,
      quantity: this.#line.quantity,
      expiresAt: this.#line.expiresAt!,
    };
  }

  /** With `filled` (revision 5 on), the save that makes a queue's fill the line's also records its event. */
  async save(changes: Partial<CartLine>, filled = false) {
    this.#line = { ...this.#line, ...changes, rev: this.#line.rev + 1, updatedAt: new Date().toISOString() };
    const state = this.#line;
    const saved = this.#saving.then(() => (filled ? localData.saveFilledLine(state) : localData.saveCartLine(state)));
    this.#saving = saved.catch(() => undefined);
    await saved;
  }

  /** Runs get their search attributes at start (holdStartOperation); sets them if a caller did not. */
  tagRun(customerId: string | undefined) {
    if (workflowInfo().typedSearchAttributes.get(CartId) !== this.#line.cartId) {
      upsertSearchAttributes([
        { key: CartId, value: this.#line.cartId },
        { key: Sku, value: this.#line.sku },
        ...(customerId ? [{ key: CustomerId, value: customerId }] : []),
      ] as SearchAttributeUpdatePair[]);
    }
  }

  /**
   * The run's `HoldStatus`: `held` for a pending line, so a count of `held` runs counts the lines holding stock.
   * An add-to-cart starts its run as `held` (holdStartOperation), so the first reservation records no upsert;
   * a run keeps no upsert of the value it already has.
   */
  upsertStatus(status: LineStatus | 'held' | 'locked' | 'out_of_stock' | 'limit_reached') {
    const value = status === 'pending' ? 'held' : status;
    if (workflowInfo().typedSearchAttributes.get(HoldStatus) === value) return;
    upsertSearchAttributes([{ key: HoldStatus, value } as SearchAttributeUpdatePair]);
  }

  /**
   * A run that ends as it began, without a line of its own (refused, or adopting how an earlier run of its id
   * ended): its HoldStatus says how, where it has one. Runs started before the status came with the start have
   * none here, and recorded no upsert on this path.
   */
  endStatus(status: LineStatus | 'out_of_stock' | 'limit_reached') {
    if (workflowInfo().typedSearchAttributes.get(HoldStatus) !== undefined) this.upsertStatus(status);
  }

  async setStatus(status: LineStatus, changes: Partial<CartLine> = {}, filled = false) {
    this.upsertStatus(status);
    await this.save({ ...changes, status }, filled);
  }

  /** Takes the line as an earlier run of its id stored it when it ended; nothing is saved. */
  adopt(ended: CartLine) {
    this.#line = ended;
  }

  /** Marks a line its buyer's per-customer limit refused (nothing is saved: the run returns it). */
  refuseByLimit(limit: number) {
    this.#line = { ...this.#line, refusedByLimit: limit };
  }

  /** Forgets the order that had the line locked (the next save stores it without one). */
  dropOrder() {
    const copy = { ...this.#line };
    delete (copy as { orderId?: string }).orderId;
    this.#line = copy;
  }
}
