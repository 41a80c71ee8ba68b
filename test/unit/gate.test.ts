import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { catchUpMs, closedGate, gateRate, openGate, secondsToWait, type GateState } from '../../src/admission/gate';

describe("a waiting room's gate", () => {
  const rate = gateRate(2); // burst 2, one place every 500 ms
  const t0 = 1_000_000;

  it('lets a burst in at once, then one place per interval, never past the last place given', () => {
    const first = openGate(closedGate, rate, 9, t0, t0)!;
    expect(first.through).toBe(1);
    expect(openGate(first, rate, 9, t0 + 499, t0)).toBeUndefined();
    const second = openGate(first, rate, 9, t0 + 500, t0)!;
    expect(second.through).toBe(2);
    // 1.5 s on, nobody asking in between, asked by a place waiting since t0: the time counts.
    expect(openGate(second, rate, 9, t0 + 2000, t0)!.through).toBe(5);
    // Nobody beyond place 2 waits: nothing to open, however long it has been.
    expect(openGate({ through: 2, tat: t0 }, rate, 2, t0 + 60_000, t0)).toBeUndefined();
  });

  it('does not save up a lull beyond its burst: only the time the asker has waited counts', () => {
    const idle: GateState = { through: 4, tat: t0 };
    // Asked by a place given out just now (a crowd after a lull, abandoned places before it or not).
    const later = t0 + 3_600_000;
    expect(openGate(idle, rate, 500, later, later)!.through).toBe(4 + rate.burst);
    // Asked by a place that has waited 10 s with nobody asking: the line moved at the rate meanwhile.
    expect(openGate(idle, rate, 500, later, later - 10_000)!.through).toBe(4 + 10 * 2 + rate.burst);
    // However long the asker waited, no more than catchUpMs of it.
    expect(openGate(idle, rate, 5000, later, t0)!.through).toBe(4 + (catchUpMs / 1000) * 2 + rate.burst);
  });

  it('tells a waiting place how long it is likely to wait, 1 to 30 seconds', () => {
    const gate = openGate(closedGate, rate, 100, t0, t0)!; // through 1, next due at t0 + 1000
    expect(secondsToWait(gate, rate, 2, t0, t0)).toBe(1);
    expect(secondsToWait(gate, rate, 11, t0, t0)).toBe(5);
    expect(secondsToWait(gate, rate, 100, t0, t0)).toBe(30);
    // Told 5 s, asking then: let in.
    expect(openGate(gate, rate, 11, t0 + 5000, t0)!.through).toBeGreaterThanOrEqual(11);
  });

  it('over any arrivals and looks: through only grows, stays at or below the last place, within the rate', () => {
    const step = fc.record({ dt: fc.integer({ min: 0, max: 3000 }), arrivals: fc.integer({ min: 0, max: 20 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.array(step, { maxLength: 60 }), (perSecond, steps) => {
        const r = gateRate(perSecond);
        let state = closedGate;
        let now = t0;
        let lastPlace = -1;
        const arrivedAt: number[] = [];
        for (const { dt, arrivals } of steps) {
          now += dt;
          for (let a = 0; a < arrivals; a++) arrivedAt.push(now);
          lastPlace += arrivals;
          // The next waiting place asks.
          const asker = arrivedAt[state.through + 1];
          const next = asker === undefined ? undefined : openGate(state, r, lastPlace, now, asker);
          if (next) {
            expect(next.through).toBeGreaterThan(state.through);
            expect(next.through).toBeLessThanOrEqual(lastPlace);
            state = next;
          }
        }
        // GCRA: at most a burst plus the rate over the time that passed.
        expect(state.through + 1).toBeLessThanOrEqual(r.burst + Math.floor(((now - t0) * perSecond) / 1000) + 1);
      }),
    );
  });
});
