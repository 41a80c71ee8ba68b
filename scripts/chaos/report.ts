import type { ApiClient } from './api';
import type { ChaosArgs } from './args';
import type { FaultRecord } from './faults';
import { failureKind, type FinalOrder, type ProductView, type QuietState, type SkuInvariants } from './settle';
import type { SaleRecord } from './shoppers';

export interface RunFacts {
  readonly args: ChaosArgs;
  readonly skus: readonly string[];
  readonly canarySku: string;
  readonly api: ApiClient;
  readonly sale: SaleRecord;
  readonly loadSeconds: number;
  readonly faults: readonly FaultRecord[];
  readonly orders: readonly FinalOrder[];
  readonly quiet: QuietState;
  readonly stock: readonly { invariants: SkuInvariants; product: ProductView }[];
  readonly unexpectedExits: readonly string[];
}

/** The verdict: what broke an invariant, what never finished, and what merely deserves a look. */
export interface Verdict {
  readonly violations: string[];
  readonly unfinished: string[];
  readonly anomalies: string[];
}

/** Applies the invariants to what the run saw and what the system reports once quiet. */
export function judge(facts: RunFacts): Verdict {
  const { sale, orders, quiet, stock } = facts;
  const violations = [...quiet.check.violations.map((v) => `system check: ${v}`), ...sale.violations];
  const unfinished = [...sale.unfinished, ...facts.unexpectedExits];
  const anomalies: string[] = [];

  for (const f of facts.faults) if (f.error) unfinished.push(`fault "${f.fault}": ${f.error}`);
  if (!quiet.quiet && quiet.runningWorkflows > 0) {
    unfinished.push(`${quiet.runningWorkflows} workflows still running after every order and hold should have ended`);
  }
  // A repeated request must replay its first answer; other answers outside the contract are worth a look, but
  // are not the invariants this run guards.
  for (const [answer, n] of Object.entries(sale.unexpected.toJSON())) {
    const list = answer.includes('idempotency_key_reused') ? violations : anomalies;
    list.push(`${n} x an answer outside the API's contract: ${answer}`);
  }
  anomalies.push(...sale.unexpectedExamples.map((e) => `e.g. ${e}`));

  const bought = new Map<string, number>();
  for (const o of orders) {
    const status = o.view?.status;
    if (status !== 'completed' && status !== 'failed') {
      unfinished.push(`order ${o.orderId} (${o.paymentToken}): ${status ?? 'never readable'} at the deadline`);
      continue;
    }
    if (status === 'completed') {
      for (const l of o.view!.lines) bought.set(l.sku, (bought.get(l.sku) ?? 0) + l.quantity);
      if (o.paymentToken !== 'tok_visa') violations.push(`order ${o.orderId}: completed with ${o.paymentToken}`);
      continue;
    }
    const kind = failureKind(o.view!.reason);
    const expected: Record<string, string> = { tok_chargeDeclined: 'card_declined', tok_timeout: 'payment_failed' };
    if (kind !== 'cart_empty' && kind !== 'out_of_stock' && kind !== expected[o.paymentToken]) {
      anomalies.push(`order ${o.orderId} (${o.paymentToken}) failed: ${o.view!.reason}`);
    }
  }

  const completed = orders.filter((o) => o.view?.status === 'completed').length;
  const counted = quiet.check.counts.orders;
  if ((counted.completed ?? 0) !== completed) {
    violations.push(`the system counts ${counted.completed ?? 0} completed orders, the shoppers ${completed}`);
  }
  const stored = Object.values(counted).reduce((a, b) => a + b, 0);
  if (stored !== orders.length) {
    violations.push(`the system stores ${stored} orders, the shoppers placed ${orders.length}`);
  }

  for (const { invariants: inv, product } of stock) {
    const { sku, totals } = inv;
    violations.push(...inv.violations.map((v) => `${sku}: ${v}`));
    if (totals.sold > totals.received) violations.push(`${sku}: sold ${totals.sold} > received ${totals.received}`);
    if (product.sold > totals.received) violations.push(`${sku}: product view sold ${product.sold} > received`);
    if (inv.openHolds > 0 || totals.held > 0 || product.reserved > 0) {
      violations.push(`${sku}: ${totals.held} units (${inv.openHolds} holds) still held after every TTL`);
    }
    if (inv.inTransit > 0) violations.push(`${sku}: ${inv.inTransit} units stranded in transit between buckets`);
    const nonSellable = Object.values(product.nonSellable).reduce((a: number, b) => a + (b ?? 0), 0);
    const shown = product.available + product.reserved + product.sold + (product.incoming ?? 0) + nonSellable;
    if (shown !== totals.received) {
      violations.push(`${sku}: the product view adds up to ${shown} units, the ledger received ${totals.received}`);
    }
    const paidFor = bought.get(sku) ?? 0;
    if (totals.sold !== paidFor) {
      violations.push(`${sku}: ${totals.sold} units sold, but completed orders bought ${paidFor}`);
    }
  }
  return { violations, unfinished, anomalies };
}

/** bench/results/chaos.json. */
export function resultJson(facts: RunFacts, verdict: Verdict, extra: Record<string, unknown>) {
  const { args, api, sale, quiet } = facts;
  return {
    scenario: 'chaos',
    ok: verdict.violations.length === 0 && verdict.unfinished.length === 0,
    ...extra,
    settings: {
      short: args.short,
      seed: args.seed,
      shoppers: args.shoppers,
      concurrency: args.concurrency,
      skus: facts.skus,
      unitsPerSku: args.units,
      ttlSeconds: args.ttlSeconds,
      faultSchedule: args.faultIntervalSeconds
        ? `every ${args.faultIntervalSeconds} s`
        : 'at 1/4, 2/4 and 3/4 of the shoppers',
    },
    load: {
      seconds: facts.loadSeconds,
      shoppersDone: sale.shoppersDone,
      carts: sale.carts,
      requests: api.requests,
      retries: api.retries,
      inProgressRetries: api.inProgressRetries,
      gaveUp: api.gaveUp,
      transientFailures: api.transient.toJSON(),
    },
    faults: facts.faults,
    adds: sale.adds.toJSON(),
    changes: sale.changes.toJSON(),
    removes: sale.removes.toJSON(),
    duplicates: sale.duplicates,
    orders: orderBreakdown(facts.orders),
    system: {
      ...quiet.check.counts,
      checkAttempts: quiet.attempts,
      firstViolations: quiet.firstViolations,
      runningWorkflows: quiet.runningWorkflows,
    },
    stock: facts.stock.map(({ invariants: inv, product }) => ({
      sku: inv.sku,
      canary: inv.sku === facts.canarySku,
      received: inv.totals.received,
      sold: inv.totals.sold,
      available: inv.totals.available,
      held: inv.totals.held,
      openHolds: inv.openHolds,
      inTransit: inv.inTransit,
      productView: { available: product.available, reserved: product.reserved, sold: product.sold },
    })),
    ...verdict,
    unexpectedAnswers: sale.unexpected.toJSON(),
  };
}

function orderBreakdown(orders: readonly FinalOrder[]) {
  const byToken: Record<string, Record<string, number>> = {};
  for (const o of orders) {
    const outcome =
      o.view?.status === 'failed' ? `failed: ${failureKind(o.view.reason)}` : (o.view?.status ?? 'never read');
    const row = (byToken[o.paymentToken] ??= {});
    row[outcome] = (row[outcome] ?? 0) + 1;
  }
  return {
    placed: orders.length,
    completed: orders.filter((o) => o.view?.status === 'completed').length,
    failed: orders.filter((o) => o.view?.status === 'failed').length,
    byToken,
  };
}

type Result = ReturnType<typeof resultJson>;

const counts = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/** The human summary, on stdout. */
export function summaryText(r: Result): string {
  const out: string[] = [];
  const s = r.settings;
  out.push(`== chaos${s.short ? ' (short)' : ''}: seed ${s.seed}`);
  out.push(
    `load      ${r.load.shoppersDone}/${s.shoppers} shoppers (concurrency ${s.concurrency}) in ${r.load.seconds} s: ` +
      `${r.load.requests} requests, ${r.load.retries} retried after transient failures, ` +
      `${r.load.inProgressRetries} after request_in_progress, ${r.load.gaveUp} gave up`,
  );
  for (const [what, n] of Object.entries(r.load.transientFailures)) out.push(`            ${n} x ${what}`);
  for (const f of r.faults) {
    const recovered =
      f.recoveredAfterSeconds === null ? `NOT RECOVERED: ${f.error}` : `recovered in ${f.recoveredAfterSeconds} s`;
    out.push(`fault     +${f.at}s ${f.fault}${f.duringLoad ? '' : ' (after the load)'}: ${recovered}`);
  }
  out.push(
    `requests  adds: ${counts(r.adds)}; changes: ${counts(r.changes)}; removes: ${counts(r.removes)}; ` +
      `repeated keys: ${r.duplicates.adds} adds, ${r.duplicates.checkouts} checkouts`,
  );
  out.push(`orders    ${r.orders.placed} placed: ${r.orders.completed} completed, ${r.orders.failed} failed`);
  for (const [token, row] of Object.entries(r.orders.byToken)) out.push(`            ${token}: ${counts(row)}`);
  out.push(`lines     ${counts(r.system.lines)}`);
  out.push(`payments  ${r.system.charges} charges, ${r.system.refunds} refunds`);
  for (const k of r.stock) {
    out.push(
      `stock     ${k.sku}${k.canary ? ' (canary)' : ''}: received ${k.received}, sold ${k.sold}, ` +
        `available ${k.available}, held ${k.held}, in transit ${k.inTransit}`,
    );
  }
  out.push(
    `check     ${r.system.checkAttempts} system check(s) until quiet; ${r.system.runningWorkflows} workflows running at the end`,
  );
  const list = (title: string, items: readonly string[]) => {
    out.push(`${title} ${items.length === 0 ? 'none' : items.length}`);
    for (const item of items.slice(0, 50)) out.push(`  - ${item}`);
    if (items.length > 50) out.push(`  ... and ${items.length - 50} more (bench/results/chaos.json)`);
  };
  list('violations', r.violations);
  list('unfinished', r.unfinished);
  list('anomalies ', r.anomalies);
  out.push(r.ok ? 'result    PASS' : 'result    FAIL');
  return out.join('\n');
}
