/**
 * A waiting room's gate: the pure arithmetic of who is let in, and when. Places are numbered in arrival order
 * from 0; the gate lets them in in that order, `perSecond` of them a second, with a burst of `burst` when it
 * has been idle (the generic cell rate algorithm: `tat` is the theoretical time at which the gate's next
 * place would be due at the rate).
 *
 * The gate moves only when someone asks. While places wait behind it, the time between two asks counts (up to
 * `catchUpMs`, the longest a shopper in line is told to wait): a line whose front was abandoned still moves at
 * the rate. Time with nobody waiting is not saved up beyond the burst.
 */
export interface GateState {
  /** The last place let in; -1 before anyone. Only grows. */
  readonly through: number;
  /** Epoch milliseconds: when the next place is due at the rate. Only grows. */
  readonly tat: number;
  /** The last place given out when this state was reached: places beyond `through` were waiting. */
  readonly lastPlace: number;
}

export interface GateRate {
  readonly perSecond: number;
  /** Places let in at once after the gate was idle (at least 1). */
  readonly burst: number;
}

export const closedGate: GateState = { through: -1, tat: 0, lastPlace: -1 };

/** The longest Retry-After, and so the most time between two asks of a line that is still there. */
export const catchUpMs = 30_000;

/** The gate of a product that admits `perSecond` shoppers a second: a second's worth at once after a lull. */
export function gateRate(perSecond: number): GateRate {
  return { perSecond, burst: Math.max(1, Math.floor(perSecond)) };
}

/**
 * The gate at `now` when places up to `lastPlace` have been given out: undefined when it lets nobody more in
 * (nobody waits beyond it, or the rate has no room yet).
 */
export function openGate(state: GateState, rate: GateRate, lastPlace: number, now: number): GateState | undefined {
  const waiting = lastPlace - state.through;
  if (waiting <= 0) return undefined;
  const interval = 1000 / rate.perSecond;
  const from = scheduleFrom(state, now);
  const room = Math.floor((now + rate.burst * interval - from) / interval + 1e-9);
  const admitted = Math.min(waiting, room);
  if (admitted <= 0) return undefined;
  return { through: state.through + admitted, tat: from + admitted * interval, lastPlace };
}

/**
 * Where the rate's schedule stands at `now`: after a lull with nobody waiting it restarts from now (unused time
 * does not pile up beyond the burst); while places waited it runs on from `tat`, at most `catchUpMs` behind.
 */
function scheduleFrom(state: GateState, now: number): number {
  const waited = state.lastPlace > state.through;
  return Math.max(state.tat, waited ? now - catchUpMs : now);
}

/** How long a place is likely to wait from `now`, in whole seconds for Retry-After (1 to 30). */
export function secondsToWait(state: GateState, rate: GateRate, place: number, now: number): number {
  const interval = 1000 / rate.perSecond;
  const ahead = place - state.through; // places still to be let in, this one included
  const due = scheduleFrom(state, now) + (ahead - rate.burst) * interval;
  return Math.min(30, Math.max(1, Math.ceil((due - now) / 1000)));
}
