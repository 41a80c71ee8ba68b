import type { ApiClient } from './api';
import type { ChaosArgs } from './args';
import type { FaultRecord } from './faults';
import {
  failureKind,
  type FinalOrder,
  type ProductView,
  type QueueView,
  type QuietState,
  type SkuInvariants,
} from './settle';
import type { SaleRecord } from './shoppers';

export interface RunFacts {
  readonly args: ChaosArgs;
  readonly skus: readonly string[];
  readonly backorderSku: string;
  readonly canarySku: string;
  /** Units each SKU was created with, plus the restocks the API accepted. */
  readonly received: ReadonlyMap<string, number>;
  /** The backorder SKU's queue once the system is quiet. */
  readonly queue: QueueView;
  readonly api: ApiClient;
  readonly sale: SaleRecord;
  readonly loadSeconds: number;
  readonly faults: readonly FaultRecord[];
  readonly orders: readonly FinalOrder[];
  readonly quiet: QuietState;
  readonly stock: readonly { invariants: SkuInvariants; product: ProductView }[];
  readonly unexpectedExits: readonly string[];
  /** The add-to-carts sent during the partition from carts and keys that live on the reachable shard. */
  readonly partitionAdds: readonly PartitionAdd[];
}

export interface PartitionAdd {
  readonly outcome: string;
  /** Sent and answered (epoch ms). */
  readonly from: number;
  readonly to: number;
}

/**
 * What add-to-carts came to while a shard was cut off (sent and answered inside its window): the shoppers' (of
 * strict SKUs, whatever shard their carts live on), and those of carts and keys that live on the reachable shard.
 */
export function partitionSales(facts: Pick<RunFacts, 'faults' | 'sale' | 'partitionAdds'>) {
  const window = facts.faults.find((f) => f.window)?.window;
  if (!window) return null;
  const summarise = (adds: readonly PartitionAdd[]) => {
    const inside = adds.filter((a) => a.from >= window.from && a.to <= window.to);
    const ms = inside
      .filter((a) => a.outcome === 'held')
      .map((a) => a.to - a.from)
      .sort((x, y) => x - y);
    const answers: Record<string, number> = {};
    for (const a of inside) answers[a.outcome] = (answers[a.outcome] ?? 0) + 1;
    return {
      held: ms.length,
      answers,
      heldMs: { p50: ms[Math.floor(ms.length / 2)] ?? null, max: ms.at(-1) ?? null },
      /** Sent during the partition, answered after it healed. */
      answeredAfterHealing: adds.filter((a) => a.from >= window.from && a.from < window.to && a.to > window.to).length,
    };
  };
  return {
    seconds: Math.round((window.to - window.from) / 100) / 10,
    shoppers: summarise(facts.sale.strictAdds),
    reachable: summarise(facts.partitionAdds),
  };
}

/** The verdict: what broke an invariant, what never finished, and what merely deserves a look. */
export interface Verdict {
  readonly violations: string[];
  readonly unfinished: string[];
  readonly anomalies: string[];
}

/** Applies the issue's invariants to what the run saw and what the system reports once quiet. */
export function judge(facts: RunFacts): Verdict {
  const { sale, orders, quiet, stock } = facts;
  const violations = [...quiet.check.violations.map((v) => `system check: ${v}`), ...sale.violations];
  const unfinished = [...sale.unfinished, ...facts.unexpectedExits];
  const anomalies: string[] = [];

  for (const f of facts.faults) if (f.error) unfinished.push(`fault "${f.fault}": ${f.error}`);
  const partition = partitionSales(facts);
  if (partition && partition.reachable.held === 0) {
    violations.push('no add-to-cart was held from the reachable shard while shard 1 was cut off');
  }
  if (!quiet.quiet && quiet.runningWorkflows > 0) {
    unfinished.push(`${quiet.runningWorkflows} workflows still running after every order and hold should have ended`);
  }
  judgeBackorders(facts, violations, unfinished, anomalies);
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

  // Money and stock together, as the shoppers saw their orders and as the store counts them.
  const { totals: system } = quiet.check;
  const kept = system.chargedCents - system.refundedCents;
  const paid = orders
    .filter((o) => o.view?.status === 'completed')
    .reduce((sum, o) => sum + (o.view!.totalCents ?? 0), 0);
  if (kept !== paid) {
    violations.push(`the store kept ${kept} cents (charged − refunded), the shoppers' completed orders total ${paid}`);
  }

  for (const { invariants: inv, product } of stock) {
    const { sku, totals } = inv;
    violations.push(...inv.violations.map((v) => `${sku}: ${v}`));
    const received = facts.received.get(sku);
    if (received !== undefined && totals.received !== received) {
      violations.push(`${sku}: the ledger received ${totals.received} units, ops created and restocked ${received}`);
    }
    if ((system.sold[sku] ?? 0) !== totals.sold) {
      violations.push(`${sku}: the system check counts ${system.sold[sku] ?? 0} sold, the ledger ${totals.sold}`);
    }
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

/**
 * The backorders still waiting must be exactly the queue: a backordered line missing from it would never be
 * filled, and a queue entry whose line has ended would be filled for nobody. Filled lines must have ended.
 */
function judgeBackorders(facts: RunFacts, violations: string[], unfinished: string[], anomalies: string[]): void {
  const { quiet, queue, backorderSku: sku } = facts;
  const lines = quiet.backorderLines;
  const queued = new Set(queue.waiting.map((e) => e.holdId));
  let waiting = 0;
  for (const { holdId } of facts.sale.backorderLines) {
    const line = lines.get(holdId);
    if (!line) violations.push(`backorder ${holdId}: add-to-cart answered backordered, but its cart has no such line`);
    else if (line.status === 'backordered') {
      waiting++;
      if (!queued.has(holdId)) violations.push(`backorder ${holdId}: backordered, but not in the queue of ${sku}`);
    }
  }
  for (const holdId of queued) {
    const line = lines.get(holdId);
    if (!line) anomalies.push(`the queue of ${sku} lists ${holdId}, which no shopper was told is backordered`);
    else if (line.status !== 'backordered') {
      violations.push(`the queue of ${sku} lists ${holdId}, whose line is ${line.status}`);
    }
  }
  const held = [...lines.values()].filter((l) => l.status === 'pending').length;
  if (!quiet.quiet && held > 0) unfinished.push(`${held} filled backorders of ${sku} still held at the deadline`);
  if (quiet.quiet && quiet.waitingLineRuns !== waiting) {
    anomalies.push(`${waiting} backorders wait, but Temporal lists ${quiet.waitingLineRuns} backordered line runs`);
  }
}

function backorderBreakdown(facts: RunFacts) {
  const { sale, quiet } = facts;
  const views = sale.backorderLines.map((l) => quiet.backorderLines.get(l.holdId));
  const byStatus: Record<string, number> = {};
  for (const v of views) byStatus[v?.status ?? 'unread'] = (byStatus[v?.status ?? 'unread'] ?? 0) + 1;
  return {
    sku: facts.backorderSku,
    queued: views.length,
    // A fill gives the line its expiry; a line removed while it waited never had one.
    filled: views.filter((v) => v?.expiresAt !== undefined).length,
    filledWhileWaiting: sale.filledWhileWaiting,
    queueCountsFilled: facts.queue.filled,
    removed: byStatus.removed ?? 0,
    reprioritised: sale.reprioritised.toJSON().moved ?? 0,
    waiting: byStatus.backordered ?? 0,
    linesAtTheEnd: byStatus,
    removals: sale.backorderRemoves.toJSON(),
    reprioritise: sale.reprioritised.toJSON(),
    restocks: sale.restocks,
    restocksSentTwice: sale.duplicates.restocks,
  };
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
      backorderSku: facts.backorderSku,
      backorderUnits: args.backorderUnits,
      restockUnits: args.restockUnits,
      ttlSeconds: args.ttlSeconds,
      faultSchedule: args.faultIntervalSeconds
        ? `every ${args.faultIntervalSeconds} s`
        : `at 1/${facts.faults.length + 1} ... ${facts.faults.length}/${facts.faults.length + 1} of the shoppers`,
    },
    load: {
      seconds: facts.loadSeconds,
      shoppersDone: sale.shoppersDone,
      carts: sale.carts,
      requests: api.requests,
      retries: api.retries,
      gaveUp: api.gaveUp,
      transientFailures: api.transient.toJSON(),
    },
    faults: facts.faults,
    partition: partitionSales(facts),
    adds: sale.adds.toJSON(),
    changes: sale.changes.toJSON(),
    removes: sale.removes.toJSON(),
    duplicates: sale.duplicates,
    doubleCheckouts: sale.doubleCheckouts,
    changesDuringCheckout: sale.changesDuringCheckout.toJSON(),
    backorders: backorderBreakdown(facts),
    orders: orderBreakdown(facts.orders),
    system: {
      ...quiet.check.counts,
      totals: quiet.check.totals,
      checkAttempts: quiet.attempts,
      firstViolations: quiet.firstViolations,
      runningWorkflows: quiet.runningWorkflows,
      waitingLineRuns: quiet.waitingLineRuns,
    },
    stock: facts.stock.map(({ invariants: inv, product }) => ({
      sku: inv.sku,
      canary: inv.sku === facts.canarySku,
      received: inv.totals.received,
      sold: inv.totals.sold,
      available: inv.totals.available,
      incoming: inv.totals.incoming,
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
  const via: Record<string, number> = {};
  for (const o of orders) via[o.via] = (via[o.via] ?? 0) + 1;
  return {
    placed: orders.length,
    completed: orders.filter((o) => o.view?.status === 'completed').length,
    failed: orders.filter((o) => o.view?.status === 'failed').length,
    via,
    byToken,
    // Each order with how it was placed: to find the scenario of an order a violation names.
    each: orders.map((o) => ({
      orderId: o.orderId,
      cartId: o.cart.cartId,
      via: o.via,
      paymentToken: o.paymentToken,
      status: o.view?.status ?? 'never read',
      ...(o.view?.reason ? { reason: o.view.reason } : {}),
    })),
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
      `${r.load.requests} requests, ${r.load.retries} retried after transient failures, ${r.load.gaveUp} gave up`,
  );
  for (const [what, n] of Object.entries(r.load.transientFailures)) out.push(`            ${n} x ${what}`);
  for (const f of r.faults) {
    const recovered =
      f.recoveredAfterSeconds === null ? `NOT RECOVERED: ${f.error}` : `recovered in ${f.recoveredAfterSeconds} s`;
    out.push(`fault     +${f.at}s ${f.fault}${f.duringLoad ? '' : ' (after the load)'}: ${recovered}`);
  }
  const p = r.partition;
  if (p) {
    const line = (q: typeof p.reachable) =>
      `${q.held} held (p50 ${q.heldMs.p50} ms, max ${q.heldMs.max} ms; answers: ${counts(q.answers)}; ` +
      `${q.answeredAfterHealing} answered after healing)`;
    out.push(`partition shard 1 cut off ${p.seconds} s: carts on shard 0 ${line(p.reachable)}`);
    out.push(`            the shoppers' adds (any shard): ${line(p.shoppers)}`);
  }
  const oversold = r.stock.filter((k) => k.sold > k.received).length;
  out.push(`oversold  ${oversold === 0 ? 'none' : `${oversold} SKUs`}`);
  out.push(
    `requests  adds: ${counts(r.adds)}; changes: ${counts(r.changes)}; removes: ${counts(r.removes)}; ` +
      `repeated keys: ${r.duplicates.adds} adds, ${r.duplicates.checkouts} checkouts`,
  );
  const d = r.doubleCheckouts;
  const changed = Object.values(r.changesDuringCheckout).reduce((a, b) => a + b, 0);
  out.push(
    `checkouts two tabs: ${d.tried} tried, ${d.refused} refused 409 checkout_in_progress, ${d.bothAccepted} both ` +
      `accepted; quantity changes during checkout: ${changed} (${counts(r.changesDuringCheckout)})`,
  );
  const b = r.backorders;
  out.push(
    `backorder ${b.sku}: ${b.queued} queued, ${b.filled} filled (${b.filledWhileWaiting} while the shopper waited; ` +
      `the queue counts ${b.queueCountsFilled}), ${b.removed} removed, ${b.reprioritised} reprioritised, ` +
      `${b.waiting} still waiting`,
  );
  out.push(
    `            restocks: ${b.restocks.map((x) => x.quantity).join(' + ') || 'none'} units ` +
      `(${b.restocksSentTwice} sent twice with one key); removals: ${counts(b.removals)}; ` +
      `reprioritise: ${counts(b.reprioritise)}`,
  );
  out.push(
    `orders    ${r.orders.placed} placed (${counts(r.orders.via)}): ${r.orders.completed} completed, ` +
      `${r.orders.failed} failed`,
  );
  for (const [token, row] of Object.entries(r.orders.byToken)) out.push(`            ${token}: ${counts(row)}`);
  out.push(`lines     ${counts(r.system.lines)}`);
  out.push(`payments  ${r.system.charges} charges, ${r.system.refunds} refunds`);
  const t = r.system.totals;
  out.push(
    `money     charged ${t.chargedCents} cents, refunded ${t.refundedCents}, completed orders ${t.ordersCents}; ` +
      `sold: ${counts(t.sold)}`,
  );
  for (const k of r.stock) {
    out.push(
      `stock     ${k.sku}${k.canary ? ' (canary)' : ''}: received ${k.received}, sold ${k.sold}, ` +
        `available ${k.available}, incoming ${k.incoming}, held ${k.held}, in transit ${k.inTransit}`,
    );
  }
  out.push(
    `check     ${r.system.checkAttempts} system check(s) until quiet; ${r.system.runningWorkflows} workflows running ` +
      `at the end, besides the backorder queue and ${r.system.waitingLineRuns} lines waiting in it`,
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
