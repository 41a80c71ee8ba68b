import { describe, expect, it } from 'vitest';
import type { LoadRun, Timed } from '../../bench/harness/load';
import { Tally } from '../../bench/harness/tally';
import {
  firstArrivalsShare,
  lastAnswerMs,
  saleFailures,
  salePaths,
  waitingRoomFigures,
} from '../../bench/lib/sale-figures';
import type { AddToCart } from '../../bench/lib/shop';

const answer = (status: number, holdStatus: AddToCart['holdStatus'], error?: string, queued = 0): AddToCart => ({
  status,
  holdStatus,
  holdId: undefined,
  expiresAt: undefined,
  error,
  queued,
});
const held = answer(201, 'held');
const refused = answer(409, 'out_of_stock');

function run(results: [index: number, startMs: number, endMs: number, result: AddToCart][], errors = new Tally()) {
  const timed: Timed<AddToCart>[] = results.map(([index, startMs, endMs, result]) => ({
    index,
    startMs,
    endMs,
    result,
  }));
  return { results: timed, errors, elapsedMs: 10_000, startedAt: 0 } satisfies LoadRun<AddToCart>;
}

describe('the flash sale figures', () => {
  const sale = run([
    [0, 0, 100, held],
    [1, 0, 200, held],
    [2, 50, 300, refused],
    [3, 250, 260, refused],
    [4, 500, 1500, refused],
    [250, 900, 1000, held],
  ]);

  it('splits the held path from the refusal path, each over its own time span', () => {
    const paths = salePaths(sale, 200, 2);
    expect(paths.held).toMatchObject({ answers: 3, spanMs: 1000, opsPerSec: 3, p50Ms: 100, p99Ms: 200, toFloor: 1.5 });
    expect(paths.refused).toMatchObject({ answers: 3, spanMs: 1450, p50Ms: 250, p99Ms: 1000, p99OverP50: 4 });
  });

  it('counts as refused after the sell-out only the requests sent after it', () => {
    const after = salePaths(sale, 200, 2).refusedAfterSellOut;
    expect(after).toMatchObject({ answers: 2, spanMs: 1250, opsPerSec: 1.6, toFloor: 0.8 });
    expect(salePaths(sale, null, 2).refusedAfterSellOut).toBeNull();
    expect(salePaths(sale, 200, undefined).held?.toFloor).toBeNull();
  });

  it('gives the share of the units held by the first 200 arrivals, and the last answer', () => {
    expect(firstArrivalsShare(sale, 4)).toEqual({ arrivals: 200, held: 2, share: 0.5 });
    expect(lastAnswerMs(sale)).toBe(1500);
    expect(lastAnswerMs(run([]))).toBeNull();
  });

  it('counts 5xx answers apart from the other failures', () => {
    const thrown = new Tally();
    thrown.add('Error: socket hang up');
    const failures = saleFailures(
      run(
        [
          [0, 0, 1, held],
          [1, 0, 1, answer(503, undefined, '503 unavailable: try again')],
          [2, 0, 1, answer(503, undefined, '503 unavailable: try again')],
          [3, 0, 1, answer(500, undefined, '500 internal: oops')],
          [4, 0, 1, answer(429, undefined, '429 rate_limited: slow down')],
        ],
        thrown,
      ),
    );
    expect(failures.serverErrors.toJSON()).toEqual({ '503 unavailable: try again': 2, '500 internal: oops': 1 });
    expect(failures.otherFailures.toJSON()).toEqual({ 'Error: socket hang up': 1, '429 rate_limited: slow down': 1 });
  });

  it("counts a waiting room's queued shoppers and their asks again", () => {
    const queued = run([
      [0, 0, 10, held],
      [1, 0, 2000, answer(201, 'held', undefined, 2)],
      [2, 0, 5000, answer(409, 'out_of_stock', undefined, 5)],
    ]);
    expect(waitingRoomFigures(queued, 2)).toEqual({
      admitPerSecond: 2,
      queuedShoppers: 2,
      asksAgain: 7,
      maxAsksAgain: 5,
    });
  });
});
