import { describe, expect, it } from 'vitest';
import { growthProblems, type ProcessSamples } from '../../bench/harness/growth';

/** A run of one process whose RSS follows `rss` minute by minute. */
const run = (rss: number[], fds = rss.map(() => 20)): ProcessSamples[] =>
  rss.map((rssMb, i) => ({
    minute: i + 1,
    processes: [{ command: 'temporal server start-dev', role: 'temporal', rssMb, fds: fds[i]! }],
  }));

describe("the soak's growth rule", () => {
  it('passes a process that fills a bounded cache early and then stays flat', () => {
    // +60 MB over the first half (under 64 MB from the warm sample), flat over the second.
    const filling = [200, 210, 220, 240, 260, 270, 280, 280, 281, 279, 280, 282, 281, 280, 280, 281];
    expect(growthProblems(run(filling), 3)).toEqual([]);
  });

  it('fails a process that keeps growing in the second half, even within the whole-run allowance', () => {
    // 3 MB a minute: 39 MB from minute 3 (under 64 MB), but 24 MB (> 16 MB and > 10 %) over the second half.
    const leaking = Array.from({ length: 16 }, (_, i) => 200 + 3 * i);
    expect(growthProblems(run(leaking), 3)).toEqual(['temporal: RSS 221 → 245 MB from minute 8 to 16']);
  });

  it('fails a process that grew past the whole-run allowance since the warm-up', () => {
    const grew = [200, 200, 200, 300, 330, 340, 345, 345, 345, 345];
    expect(growthProblems(run(grew), 3)).toEqual(['temporal: RSS 200 → 345 MB from minute 3 to 10']);
  });

  it('fails a process whose descriptors keep growing', () => {
    const fds = Array.from({ length: 10 }, (_, i) => 20 + 10 * i);
    expect(growthProblems(run(Array(10).fill(100), fds), 3)).toEqual(['temporal: descriptors 40 → 110']);
  });
});
