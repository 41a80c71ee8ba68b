import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRebalance, type TransferStep } from '../../src/stock/rebalance';

const available = fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 12 });

function shareOf(a: readonly number[]): number {
  return Math.floor(a.reduce((s, x) => s + x, 0) / a.length);
}

/** Applies the plan step by step, failing if a step takes more than its source has at that point. */
function applyPlan(a: readonly number[], plan: readonly TransferStep[]): number[] {
  const after = [...a];
  for (const step of plan) {
    expect(step.qty).toBeGreaterThan(0);
    expect(step.from).not.toBe(step.to);
    expect(after[step.from]).toBeGreaterThanOrEqual(step.qty);
    after[step.from]! -= step.qty;
    after[step.to]! += step.qty;
  }
  return after;
}

describe('planRebalance', () => {
  it('plans something exactly when some bucket is below a quarter of its fair share', () => {
    fc.assert(
      fc.property(available, (a) => {
        const share = shareOf(a);
        expect(planRebalance(a).length > 0).toBe(a.some((x) => x < share / 4));
      }),
    );
  });

  it('brings every bucket up to its share by the fewest units, conserving the total', () => {
    fc.assert(
      fc.property(available, (a) => {
        const plan = planRebalance(a);
        fc.pre(plan.length > 0);
        const share = shareOf(a);
        const after = applyPlan(a, plan);
        expect(after.reduce((s, x) => s + x, 0)).toBe(a.reduce((s, x) => s + x, 0));
        for (const [i, x] of a.entries()) {
          // Buckets below their share end exactly at it; the others give only their surplus.
          if (x < share) expect(after[i]).toBe(share);
          else expect(after[i]).toSatisfy((y: number) => y >= share && y <= x);
        }
        const deficit = a.reduce((s, x) => s + Math.max(0, share - x), 0);
        expect(plan.reduce((s, step) => s + step.qty, 0)).toBe(deficit);
        const sources = new Set(plan.map((s) => s.from));
        expect(plan.some((s) => sources.has(s.to))).toBe(false);
        expect(planRebalance(after)).toEqual([]);
      }),
    );
  });

  it('needs no plan for a single bucket or fewer units than buckets', () => {
    expect(planRebalance([])).toEqual([]);
    expect(planRebalance([0])).toEqual([]);
    expect(planRebalance([0, 0, 2])).toEqual([]);
    expect(planRebalance([0, 0, 3])).toEqual([
      { from: 2, to: 0, qty: 1 },
      { from: 2, to: 1, qty: 1 },
    ]);
  });
});
