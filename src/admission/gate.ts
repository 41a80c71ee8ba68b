/**
 * A waiting room's gate: the pure arithmetic of who is let in, and when. Places are numbered in arrival order
 * from 0; the gate lets them in in that order, `perSecond` of them a second, with a burst of `burst` when it
 * has been idle (the generic cell rate algorithm: `tat` is the theoretical time at which the gate's next
 * place would be due at the rate).
 */
export interface GateState {
  /** The last place let in; -1 before anyone. Only grows. */
  readonly through: number;
  /** Epoch milliseconds: when the next place is due at the rate. Only grows. */
  readonly tat: number;
}

export interface GateRate {
  readonly perSecond: number;
  /** Places let in at once after the gate was idle (at least 1). */
  readonly burst: number;
}

export const closedGate: GateState = { through: -1, tat: 0 };

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
  // Unused time does not pile up beyond the burst: the schedule restarts from now after a lull.
  const from = Math.max(state.tat, now);
  const room = Math.floor((now + rate.burst * interval - from) / interval + 1e-9);
  const admitted = Math.min(waiting, room);
  if (admitted <= 0) return undefined;
  return { through: state.through + admitted, tat: from + admitted * interval };
}

/** How long a place is likely to wait from `now`, in whole seconds for Retry-After (1 to 30). */
export function secondsToWait(state: GateState, rate: GateRate, place: number, now: number): number {
  const interval = 1000 / rate.perSecond;
  const ahead = place - state.through; // places still to be let in, this one included
  const due = Math.max(state.tat, now) + (ahead - rate.burst) * interval;
  return Math.min(30, Math.max(1, Math.ceil((due - now) / 1000)));
}
