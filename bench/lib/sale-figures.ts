import { summarizeSpan, type LoadRun, type SpanSummary, type Timed } from '../harness/load';
import { round } from '../harness/percentiles';
import { Tally } from '../harness/tally';
import type { AddToCart } from './shop';

/** The first arrivals (by send order) whose share of the units shows how fair a sale was. */
export const firstArrivals = 200;

/** A path's own throughput and latency, and its throughput as a ratio to the floor's ops/s. */
export interface PathFigures extends SpanSummary {
  readonly toFloor: number | null;
}

export interface SalePaths {
  readonly held: PathFigures | null;
  readonly refused: PathFigures | null;
  /** The out_of_stock answers to requests sent after the sell-out moment: refusing once there is nothing left. */
  readonly refusedAfterSellOut: PathFigures | null;
}

/** The held path and the refusal path on their own (null: no such answers, or no sell-out). */
export function salePaths(
  run: LoadRun<AddToCart>,
  sellOutMs: number | null,
  floorOpsPerSec: number | undefined,
): SalePaths {
  const held: Timed<AddToCart>[] = [];
  const refused: Timed<AddToCart>[] = [];
  const refusedAfterSellOut: Timed<AddToCart>[] = [];
  for (const t of run.results) {
    if (t.result.holdStatus === 'held') held.push(t);
    else if (t.result.holdStatus === 'out_of_stock') {
      refused.push(t);
      if (sellOutMs !== null && t.startMs > sellOutMs) refusedAfterSellOut.push(t);
    }
  }
  const figures = (answers: Timed<AddToCart>[]): PathFigures | null => {
    const span = summarizeSpan(answers);
    if (!span) return null;
    return { ...span, toFloor: floorOpsPerSec ? round(span.opsPerSec / floorOpsPerSec, 3) : null };
  };
  return { held: figures(held), refused: figures(refused), refusedAfterSellOut: figures(refusedAfterSellOut) };
}

/** Of the units, the share that went to the first `firstArrivals` shoppers (held answers by send index). */
export function firstArrivalsShare(run: LoadRun<AddToCart>, units: number) {
  let held = 0;
  for (const t of run.results) if (t.index < firstArrivals && t.result.holdStatus === 'held') held++;
  return { arrivals: firstArrivals, held, share: round(held / units, 3) };
}

/** Ms from the run's start to its last answer; null when nothing was answered. */
export function lastAnswerMs(run: LoadRun<unknown>): number | null {
  let last: number | null = null;
  for (const t of run.results) last = Math.max(last ?? 0, t.endMs);
  return last === null ? null : Math.round(last);
}

/**
 * A run's failures by message: answers with a 5xx status (results, not thrown: Shop.addToCart returns every
 * answer), and the rest (requests that threw, and answers neither held nor out_of_stock under 500).
 */
export function saleFailures(run: LoadRun<AddToCart>): { serverErrors: Tally; otherFailures: Tally } {
  const serverErrors = new Tally();
  const otherFailures = new Tally();
  otherFailures.merge(run.errors);
  for (const { result } of run.results) {
    if (result.error) (result.status >= 500 ? serverErrors : otherFailures).add(result.error);
  }
  return { serverErrors, otherFailures };
}

/** A drop's waiting room in a run: how many shoppers were queued at least once, and how often they asked again. */
export function waitingRoomFigures(run: LoadRun<AddToCart>, admitPerSecond: number) {
  let queuedShoppers = 0;
  let asks = 0;
  let maxAsks = 0;
  for (const { result } of run.results) {
    if (result.queued > 0) queuedShoppers++;
    asks += result.queued;
    maxAsks = Math.max(maxAsks, result.queued);
  }
  return { admitPerSecond, queuedShoppers, asksAgain: asks, maxAsksAgain: maxAsks };
}
