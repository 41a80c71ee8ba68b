/**
 * A waiting room's gate: the pure arithmetic of who is let in, and when. Places are numbered in arrival order
 * from 0; the gate lets them in in that order, `perSecond` of them a second, with a burst of `burst` when it
 * has been idle (the generic cell rate algorithm: `tat` is the theoretical time at which the gate's next
 * place would be due at the rate).
 *
 * The gate moves only when someone asks. The places that were already waiting at its last move are let in on
 * the rate's schedule since then, even if nobody asked in between (up to `catchUpMs` of it): a line whose front
 * left still moves at the rate. Everyone else is let in by plain GCRA from now, so a lull is not saved up
 * beyond the burst, and an abandoned place before a lull cannot open the gate for the crowd after it.
 *
 * Times are the API processes' clocks, which must agree (NTP): a process whose clock runs Δ ahead lets the
 * waiting places up to Δ early, and then the others let nobody in for Δ.
 */
export interface GateState {
  /** The last place let in; -1 before anyone. Only grows. */
  readonly through: number;
  /** Epoch milliseconds: when the next place is due at the rate. */
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

/** The longest Retry-After a shopper in line is told. */
export const maxRetryAfterSeconds = 30;
/** How much of the schedule the places waiting at the gate's last move may catch up: twice the longest wait. */
export const catchUpMs = 2 * maxRetryAfterSeconds * 1000;

/** The gate of a product that admits `perSecond` shoppers a second: a second's worth at once after a lull. */
export function gateRate(perSecond: number): GateRate {
  return { perSecond, burst: Math.max(1, Math.floor(perSecond)) };
}

/**
 * The gate at `now` when places up to `lastPlace` have been given out: undefined when it lets nobody more in
 * (nobody waits beyond it, or the rate has no room yet).
 */
export function openGate(state: GateState, rate: GateRate, lastPlace: number, now: number): GateState | undefined {
  const interval = 1000 / rate.perSecond;
  const last = Math.max(lastPlace, state.lastPlace);
  if (last <= state.through) return undefined;
  let tat = state.tat;
  let through = state.through;
  // The places waiting at the last move: due on the schedule since then, at most catchUpMs of it.
  const waited = state.lastPlace - through;
  if (waited > 0) {
    const from = Math.max(tat, now - catchUpMs);
    const due = from <= now ? Math.floor((now - from) / interval + 1e-9) + 1 : 0;
    const caught = Math.min(waited, due);
    if (caught > 0) {
      through += caught;
      tat = from + caught * interval;
    }
  }
  // The rest: plain GCRA, a burst's tolerance from now.
  const from = Math.max(tat, now);
  const room = Math.floor((now + rate.burst * interval - from) / interval + 1e-9);
  const admitted = Math.min(last - through, Math.max(0, room));
  if (admitted > 0) {
    through += admitted;
    tat = from + admitted * interval;
  }
  if (through === state.through) return undefined;
  return { through, tat, lastPlace: last };
}

/**
 * How long a place is likely to wait from `now`, in whole seconds for Retry-After (1 to 30): the first time at
 * which the gate, opened then, would let it in.
 */
export function secondsToWait(state: GateState, rate: GateRate, place: number, now: number): number {
  const admits = (t: number) => (openGate(state, rate, place, t)?.through ?? state.through) >= place;
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
