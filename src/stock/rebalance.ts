export interface TransferStep {
  readonly from: number;
  readonly to: number;
  readonly qty: number;
}

/**
 * Plans transfers that even out available stock when some bucket has fallen below a quarter of its fair share
 * while others have more than theirs; no plan (an empty list) otherwise. Pure: the rebalancer workflow and
 * the tests share it.
 */
export function planRebalance(available: readonly number[]): TransferStep[] {
  const n = available.length;
  const total = available.reduce((a, b) => a + b, 0);
  if (n < 2 || total < n) return [];
  const share = Math.floor(total / n);
  if (!available.some((a) => a < share / 4)) return [];

  const surplus = available.map((a, i) => ({ i, extra: a - share })).filter((b) => b.extra > 0);
  const deficit = available.map((a, i) => ({ i, need: share - a })).filter((b) => b.need > 0);
  const steps: TransferStep[] = [];
  for (const d of deficit) {
    for (const s of surplus) {
      if (d.need === 0) break;
      const qty = Math.min(s.extra, d.need);
      if (qty <= 0) continue;
      steps.push({ from: s.i, to: d.i, qty });
      s.extra -= qty;
      d.need -= qty;
    }
  }
  return steps;
}
