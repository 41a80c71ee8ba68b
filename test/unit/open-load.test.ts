import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runOpenLoad } from '../../bench/harness/load';

describe('the open-loop load generator', () => {
  it('times each request from its intended send time, so a backlog shows in the latency', async () => {
    // One connection, an answer every 30 ms, arrivals every 5 ms: request i waits for the i before it.
    const run = await runOpenLoad({ total: 10, rate: 200, maxInFlight: 1, send: () => sleep(30, 'ok') });
    expect(run.errors.total).toBe(0);
    const byIndex = run.results.toSorted((a, b) => a.index - b.index);
    expect(byIndex.map((t) => t.index)).toEqual([...Array(10).keys()]);
    for (const t of byIndex) {
      expect(t.startMs).toBe(t.index * 5);
      // Sent once the i before it were answered (30 ms each; a timer may end a millisecond early).
      expect(t.endMs - t.startMs).toBeGreaterThanOrEqual((t.index + 1) * 29 - t.index * 5);
    }
  });

  it('sends no request before its time and keeps at most maxInFlight in flight', async () => {
    const sentAt: number[] = [];
    let inFlight = 0;
    let peak = 0;
    const before = performance.now();
    const run = await runOpenLoad({
      total: 40,
      rate: 500,
      maxInFlight: 3,
      send: async (i) => {
        sentAt[i] = performance.now() - before;
        peak = Math.max(peak, ++inFlight);
        await sleep(10);
        inFlight--;
        return i;
      },
    });
    expect(run.results).toHaveLength(40);
    expect(peak).toBe(3);
    for (const [i, ms] of sentAt.entries()) expect(ms).toBeGreaterThanOrEqual(i * 2);
  });

  it('stops sending when aborted and lets the requests in flight finish', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const run = await runOpenLoad({
      total: 1000,
      rate: 100,
      maxInFlight: 4,
      send: () => sleep(20, 'ok'),
      signal: abort.signal,
    });
    expect(run.results.length).toBeGreaterThan(0);
    expect(run.results.length).toBeLessThan(1000);
    expect(run.errors.total).toBe(0);
  });
});
