/**
 * A waiting room's gate: the pure arithmetic of who is let in, and when. Places are numbered in arrival order
 * from 0; the gate lets them in in that order, `perSecond` of them a second, with a burst of `burst` when it
 * has been idle (the generic cell rate algorithm: `tat` is the theoretical time at which the gate's next
 * place would be due at the rate).
 *
 * The gate moves only when someone asks, but the rate's time runs while anyone waits: the one asking has
 * waited since it was given its place (`waitingSince`), so the line was never empty since then, and that time
 * counts (at most `catchUpMs` of it) even if nobody asked in between: a line whose front left still moves at
 * the rate. Before that, the gate may have been idle, and idle time is not saved up beyond the burst: a crowd
 * arriving after a lull is let in at the rate, whatever places were abandoned before it.
 *
 * Times are the API processes' clocks, which must agree (NTP): a process whose clock runs Δ ahead lets the
 * waiting places up to Δ early, and then the others let nobody in for Δ.
 */
export interface GateState {
  /** The last place let in; -1 before anyone. Only grows. */
  readonly through: number;
  /** Epoch milliseconds: when the next place is due at the rate. */
  readonly tat: number;
}

export interface GateRate {
  readonly perSecond: number;
  /** Places let in at once after the gate was idle (at least 1). */
  readonly burst: number;
}

export const closedGate: GateState = { through: -1, tat: 0 };

/** The longest Retry-After a shopper in line is told. */
export const maxRetryAfterSeconds = 30;
/** How much waiting time one ask may count that nobody asked in: twice the longest Retry-After. */
export const catchUpMs = 2 * maxRetryAfterSeconds * 1000;

/** The gate of a product that admits `perSecond` shoppers a second: a second's worth at once after a lull. */
export function gateRate(perSecond: number): GateRate {
  return { perSecond, burst: Math.max(1, Math.floor(perSecond)) };
}

/**
 * The gate at `now`, asked by a place given out at `waitingSince`, when places up to `lastPlace` have been
 * given out: undefined when it lets nobody more in (nobody waits beyond it, or the rate has no room yet).
 */
export function openGate(
  state: GateState,
  rate: GateRate,
  lastPlace: number,
  now: number,
  waitingSince: number,
): GateState | undefined {
  const waiting = lastPlace - state.through;
  if (waiting <= 0) return undefined;
  const interval = 1000 / rate.perSecond;
  // The schedule runs on from tat while the line was not empty; an idle gate restarts it when the wait began.
  const from = Math.max(state.tat, Math.min(now, Math.max(waitingSince, now - catchUpMs)));
  const room = Math.floor((now + rate.burst * interval - from) / interval + 1e-9);
  const admitted = Math.min(waiting, room);
  if (admitted <= 0) return undefined;
  return { through: state.through + admitted, tat: from + admitted * interval };
}

/**
 * How long a place is likely to wait from `now`, in whole seconds for Retry-After (1 to 30): the first time at
 * which the gate, opened then, would let it in.
 */
export function secondsToWait(
  state: GateState,
  rate: GateRate,
  place: number,
  now: number,
  waitingSince: number,
): number {
  const admits = (t: number) => (openGate(state, rate, place, t, waitingSince)?.through ?? state.through) >= place;
  // The first whole millisecond that admits it, by bisection (openGate is cheap and pure).
  let lo = 0;
  let hi = maxRetryAfterSeconds * 1000;
  if (!admits(now + hi)) return maxRetryAfterSeconds;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (admits(now + mid)) hi = mid;
    else lo = mid;
  }
  return Math.min(maxRetryAfterSeconds, Math.max(1, Math.ceil(hi / 1000)));
}
