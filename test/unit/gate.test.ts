import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { catchUpMs, closedGate, gateRate, openGate, secondsToWait, type GateState } from '../../src/admission/gate';

describe("a waiting room's gate", () => {
  const rate = gateRate(2); // burst 2, one place every 500 ms

  it('lets a burst in at once, then one place per interval, never past the last place given', () => {
    const t0 = 1_000_000;
    const first = openGate(closedGate, rate, 9, t0)!;
    expect(first.through).toBe(1);
    expect(openGate(first, rate, 9, t0 + 499)).toBeUndefined();
    const second = openGate(first, rate, 9, t0 + 500)!;
    expect(second.through).toBe(2);
    // 1.5 s on, nobody asking in between while places waited: the time counts (the front may have left).
    expect(openGate(second, rate, 9, t0 + 2000)!.through).toBe(5);
    // Nobody beyond place 2 waits: nothing to open, however long it has been.
    expect(openGate({ through: 2, tat: t0, lastPlace: 2 }, rate, 2, t0 + 60_000)).toBeUndefined();
  });

  it('does not save up a lull beyond its burst: only places that waited through it catch up', () => {
    const t0 = 1_000_000;
    const idle: GateState = { through: 4, tat: t0, lastPlace: 4 };
    expect(openGate(idle, rate, 100, t0 + 3_600_000)!.through).toBe(4 + rate.burst);
    // One abandoned place before a long lull, then a crowd: the place, then a burst of the crowd, no more.
    const abandoned: GateState = { through: 4, tat: t0, lastPlace: 5 };
    expect(openGate(abandoned, rate, 500, t0 + 60_000)!.through).toBe(5 + rate.burst);
    // Many waited: they catch up at the rate, at most catchUpMs of it (and what is left of the burst).
    const waited: GateState = { through: 4, tat: t0, lastPlace: 1000 };
    expect(openGate(waited, rate, 2000, t0 + 3_600_000)!.through).toBe(4 + (catchUpMs / 1000) * 2 + 1 + 1);
  });

  it('tells a waiting place how long it is likely to wait, 1 to 30 seconds', () => {
    const t0 = 1_000_000;
    const gate = openGate(closedGate, rate, 100, t0)!; // through 1, next due at t0 + 1000
    expect(secondsToWait(gate, rate, 2, t0)).toBe(1);
    expect(secondsToWait(gate, rate, 11, t0)).toBe(5);
    expect(secondsToWait(gate, rate, 100, t0)).toBe(30);
  });

  it('over any arrivals and looks: through only grows, stays at or below the last place, within the rate', () => {
    const step = fc.record({ dt: fc.integer({ min: 0, max: 3000 }), arrivals: fc.integer({ min: 0, max: 20 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.array(step, { maxLength: 60 }), (perSecond, steps) => {
        const r = gateRate(perSecond);
        let state = closedGate;
        let now = 1_000_000;
        let lastPlace = -1;
        const start = now;
        for (const { dt, arrivals } of steps) {
          now += dt;
          lastPlace += arrivals;
          const next = openGate(state, r, lastPlace, now);
          if (next) {
            expect(next.through).toBeGreaterThan(state.through);
            expect(next.through).toBeLessThanOrEqual(lastPlace);
            expect(next.tat).toBeGreaterThanOrEqual(state.tat);
            state = next;
          }
        }
        // GCRA: at most a burst plus the rate over the time that passed.
        expect(state.through + 1).toBeLessThanOrEqual(r.burst + Math.floor(((now - start) * perSecond) / 1000) + 1);
      }),
    );
  });
});
