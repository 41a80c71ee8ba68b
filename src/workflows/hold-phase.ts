import { ApplicationFailure } from '@temporalio/workflow';
import { failureTypes } from '../contract/failures';

/** How a line ends. */
export type LineEnd = 'expired' | 'removed' | 'purchased';

/**
 * Where a line is in its life: exactly one phase at a time, so no combination of flags can be half true.
 *   reserving → held | backordered | (refused: the run ends)
 *   held → changing → held;  held → locked → held (abandoned, lease lapsed) | ending(purchased)
 *   held → ending(expired | removed);  backordered | waitlisted → held (filled, or offered) | ending(removed)
 *   ending → ended
 */
export type Phase =
  | { readonly name: 'reserving' }
  | { readonly name: 'held' }
  /** A quantity change is moving stock: nothing else may start until it is done. */
  | { readonly name: 'changing' }
  | { readonly name: 'locked'; readonly orderId: string }
  | { readonly name: 'backordered' }
  /** On a strict SKU's waitlist: nothing is held or promised until the queue offers units. */
  | { readonly name: 'waitlisted' }
  | { readonly name: 'ending'; readonly outcome: LineEnd }
  | { readonly name: 'ended' };

/**
 * The hold workflow's phase and its transitions, the only code that moves it. Handlers only move between
 * phases; the workflow's main loop does the phase's work (release, save, wait). Transitions are synchronous:
 * read `current` again after every await, handlers move the phase meanwhile.
 */
export class HoldPhase {
  #phase: Phase = { name: 'reserving' };

  get current(): Phase {
    return this.#phase;
  }

  get name(): Phase['name'] {
    return this.#phase.name;
  }

  /** The order whose checkout holds the lock, if one does. */
  get lockedBy(): string | undefined {
    return this.#phase.name === 'locked' ? this.#phase.orderId : undefined;
  }

  /** The first reservation or a quantity change is moving stock: what else comes waits for it. */
  get movingStock(): boolean {
    return this.#phase.name === 'changing' || this.#phase.name === 'reserving';
  }

  /** Changes (quantity, extension) are for a held line, not yet due, that nobody is checking out. */
  assertChangeable(expiresAt: number, status: string): void {
    if (this.#phase.name === 'changing')
      throw ApplicationFailure.create({ type: failureTypes.lineBusy, message: 'another change is in progress' });
    if (this.#phase.name === 'locked')
      throw ApplicationFailure.create({
        type: failureTypes.lineLocked,
        message: `line is being checked out (${this.#phase.orderId})`,
      });
    if (this.#phase.name !== 'held' || Date.now() >= expiresAt)
      throw ApplicationFailure.create({ type: failureTypes.lineNotPending, message: `line is ${status}` });
  }

  assertUnlocked(): void {
    if (this.#phase.name === 'locked') {
      throw ApplicationFailure.create({ type: failureTypes.lineLocked, message: 'line is being checked out' });
    }
  }

  /** Waiting in the SKU's queue for a fill: backordered, or on the waitlist. */
  get queued(): boolean {
    return this.#phase.name === 'backordered' || this.#phase.name === 'waitlisted';
  }

  /** reserving | backordered | waitlisted → held: the line took its stock (the first reservation, or a fill). */
  held(): void {
    this.#phase = { name: 'held' };
  }

  /** reserving → backordered: nothing was taken, and the line waits in the SKU's queue. */
  backordered(): void {
    this.#phase = { name: 'backordered' };
  }

  /** reserving → waitlisted: nothing was taken, and the line waits on the SKU's waitlist for an offer. */
  waitlisted(): void {
    this.#phase = { name: 'waitlisted' };
  }

  /** held → changing (the update's validator made sure the line is held). */
  startChange(): void {
    this.#phase = { name: 'changing' };
  }

  /** changing → held, however the change went. */
  changeDone(): void {
    this.#phase = { name: 'held' };
  }

  /** held → locked by one order (the lock handler made sure the line is held). */
  lock(orderId: string): void {
    this.#phase = { name: 'locked', orderId };
  }

  /** locked by this order → held: its checkout gave the line back, or ended without it. */
  handBack(orderId: string): void {
    if (this.lockedBy === orderId) this.#phase = { name: 'held' };
  }

  /** locked by this order → ending(purchased): its checkout bought the line. */
  purchased(orderId: string): void {
    if (this.lockedBy === orderId) this.#phase = { name: 'ending', outcome: 'purchased' };
  }

  /** → ending(purchased): the order that locked the line completed with it (found when its lease lapsed). */
  sold(): void {
    this.#phase = { name: 'ending', outcome: 'purchased' };
  }

  /** held → ending(expired), once the expiry has come; only a held line expires. */
  expireIfDue(expiresAt: number): void {
    if (this.#phase.name === 'held' && Date.now() >= expiresAt) this.#phase = { name: 'ending', outcome: 'expired' };
  }

  /** held | backordered | waitlisted → ending(removed): the shopper took the line out (or left the waitlist). */
  remove(): void {
    if (this.#phase.name === 'held' || this.queued) {
      this.#phase = { name: 'ending', outcome: 'removed' };
    }
  }

  /** ending → ended: the line's last save is done. */
  ended(): void {
    this.#phase = { name: 'ended' };
  }
}
