/**
 * Pure bucket arithmetic, shared by the ledger writer, the replaying invariant checker and the tests' model.
 * A bucket's balances change only by applying one movement; a movement that would take a balance below
 * zero is refused (returns undefined) and never written.
 */

/**
 * The states a unit can be in. `available` is sellable; `incoming` units were received for waiting backorders
 * and only the backorder queue may reserve them; the last three are non-sellable.
 */
export const unitStates = ['available', 'incoming', 'held', 'sold', 'returned', 'repair', 'damaged'] as const;
export type UnitState = (typeof unitStates)[number];

/** States ops may move units between (held and sold change only by reserve/release/commit). */
export const movableStates = ['available', 'incoming', 'returned', 'repair', 'damaged'] as const;
export type MovableState = (typeof movableStates)[number];
export const nonSellableStates = ['returned', 'repair', 'damaged'] as const;

export interface Balances {
  available: number;
  incoming: number;
  held: number;
  sold: number;
  returned: number;
  repair: number;
  damaged: number;
  /** Units that entered this bucket from outside (initial stock, restocks). */
  received: number;
  transferredIn: number;
  transferredOut: number;
}

/** Where stock is received into and reserved from: backorder restocks use `incoming`. */
export type ReceivingState = 'available' | 'incoming';

export type Movement =
  | { kind: 'receive'; qty: number; to?: ReceivingState }
  | { kind: 'reserve'; qty: number; from?: ReceivingState }
  | { kind: 'release'; qty: number; to?: ReceivingState }
  | { kind: 'commit'; qty: number }
  /** Transfers move available units unless they name `incoming` (gathering stock for a backorder fill). */
  | { kind: 'transfer_out'; qty: number; from?: ReceivingState }
  | { kind: 'transfer_in'; qty: number; to?: ReceivingState }
  | { kind: 'state_change'; qty: number; from: MovableState; to: MovableState };

export type MovementKind = Movement['kind'];

export const zeroBalances: Readonly<Balances> = Object.freeze({
  available: 0,
  incoming: 0,
  held: 0,
  sold: 0,
  returned: 0,
  repair: 0,
  damaged: 0,
  received: 0,
  transferredIn: 0,
  transferredOut: 0,
});

/** Applies one movement; undefined when a balance would go below zero (the movement is refused). */
export function applyMovement(b: Readonly<Balances>, m: Movement): Balances | undefined {
  if (!Number.isSafeInteger(m.qty) || m.qty < 0) return undefined;
  const next: Balances = { ...b };
  const take = (state: UnitState, qty: number) => {
    if (next[state] < qty) return false;
    next[state] -= qty;
    return true;
  };
  switch (m.kind) {
    case 'receive':
      next[m.to ?? 'available'] += m.qty;
      next.received += m.qty;
      return next;
    case 'reserve':
      if (!take(m.from ?? 'available', m.qty)) return undefined;
      next.held += m.qty;
      return next;
    case 'release':
      if (!take('held', m.qty)) return undefined;
      next[m.to ?? 'available'] += m.qty;
      return next;
    case 'commit':
      if (!take('held', m.qty)) return undefined;
      next.sold += m.qty;
      return next;
    case 'transfer_out':
      if (!take(m.from ?? 'available', m.qty)) return undefined;
      next.transferredOut += m.qty;
      return next;
    case 'transfer_in':
      next[m.to ?? 'available'] += m.qty;
      next.transferredIn += m.qty;
      return next;
    case 'state_change':
      if (m.from === m.to || !take(m.from, m.qty)) return undefined;
      next[m.to] += m.qty;
      return next;
  }
}

/** The movement that undoes a taking movement (used to void a reservation nobody owns). */
export function inverseOf(m: Movement): Movement {
  switch (m.kind) {
    case 'reserve':
      return m.from ? { kind: 'release', qty: m.qty, to: m.from } : { kind: 'release', qty: m.qty };
    case 'state_change':
      return { kind: 'state_change', qty: m.qty, from: m.to, to: m.from };
    default:
      throw new Error(`${m.kind} has no inverse here`);
  }
}

/** Units this bucket accounts for: what came in less what left by transfer. */
export function unitsAccountedFor(b: Readonly<Balances>): number {
  return b.received + b.transferredIn - b.transferredOut;
}

/** Units in some state: always equal to unitsAccountedFor when the bucket is consistent. */
export function unitsInStates(b: Readonly<Balances>): number {
  return b.available + b.incoming + b.held + b.sold + b.returned + b.repair + b.damaged;
}

export function addBalances(a: Readonly<Balances>, b: Readonly<Balances>): Balances {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof Balances)[]) sum[key] += b[key];
  return sum;
}

/** Whether two sets of balances are equal, state by state. */
export function sameBalances(a: Balances, b: Balances): boolean {
  return (Object.keys(zeroBalances) as (keyof Balances)[]).every((k) => a[k] === b[k]);
}
