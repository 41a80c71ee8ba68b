import { waitingRoomRecords, waitingRoomViolations } from '../admission';
import { eventViolations } from './check-events';
import { waitlistViolations } from './check-waitlists';
import { CartLineStore, CartStore, OrderStore } from '../carts';
import { collections, type ShardSet } from '../db';
import type { ChargeRecord, GatewayRecord, RefundRecord } from '../activities/payment-gateway';
import {
  allowanceBucketId,
  checkInvariants,
  readLedgerSnapshot,
  replayAllowances,
  type InvariantReport,
  type StockService,
} from '../stock';
import type { Hold, LedgerEntry } from '../stock/types';
import type { CartLine, Order } from '../contract/types';

export interface SystemReport {
  readonly ok: boolean;
  readonly violations: string[];
  readonly stock: InvariantReport[];
  readonly counts: {
    readonly lines: Record<string, number>;
    readonly orders: Record<string, number>;
    readonly charges: number;
    readonly refunds: number;
  };
  /** Money and stock together: what the store took, gave back, and sold. */
  readonly totals: {
    readonly chargedCents: number;
    readonly refundedCents: number;
    /** Σ completed orders' totals: must equal charged − refunded. */
    readonly ordersCents: number;
    /** Units sold per SKU by the ledger: each one belongs to exactly one completed order. */
    readonly sold: Record<string, number>;
  };
}

export interface CheckOptions {
  readonly now?: Date;
  /** An order still pending after this long is stuck, not in flight. */
  readonly pendingOrderMaxAgeMs?: number;
}

function allOf<T>(shards: ShardSet, db: 'stock' | 'carts', name: string, filter: object = {}): Promise<T[]> {
  return shards.scan(db, name, filter) as Promise<T[]>;
}

const sumQty = (holds: readonly Hold[]) => holds.reduce((sum, h) => sum + h.qty, 0);

/**
 * The one oracle of the whole store, for a quiet system (no checkout or fill in flight): money and stock are
 * checked together. Every rule is listed in docs/architecture.md ("The system check"):
 *  1. every SKU's ledger replays clean, with nothing in transit;
 *  2. every line is resolved: pending with a future expiry and unsettled holds, expired or removed with every
 *     hold released, or purchased by a completed order that lists it;
 *  3. every open hold belongs to a pending line (stock taken for nobody would be held forever);
 *  4. per completed order: charged once, never refunded, the charge = its total = Σ unit price × units, and
 *     its units = the units of its holds, each committed (sold) in full; per failed order: no charge stands;
 *     no order stays pending;
 *  5. each cart line is bought by at most one order;
 *  6. every unit sold belongs to exactly one completed order;
 *  7. no backorder waits while its SKU has units available;
 *  8. no line is locked by a checkout that has finished;
 *  9. no charge without its order; charged − refunded = Σ completed orders;
 * 10. per-customer limits: every allowance ledger replays clean from the product's limit; every hold of a
 *     limited SKU is counted in its buyer's allowance (the cart's customer, or the cart), open there while its
 *     line is pending and committed once an order bought it, and nothing else is held or committed there;
 * 11. a drop's waiting room: places 0..n given once each, a gate that never goes back or past the last place,
 *     and every line of the SKU let in by the gate before it reached the stock;
 * 12. events and webhooks (`check-events.ts`): every completed or failed order, expired line and waitlist offer
 *     has its event, and every event an endpoint wants has a delivery record for it;
 * 13. waitlists (`check-waitlists.ts`): served in join order, a unit offered to one waiter at a time, no offer
 *     held past its window, no unit stranded `incoming` (nor available) while the waitlist could take it.
 */
export async function checkSystem(
  stock: StockService,
  shards: ShardSet,
  options: CheckOptions = {},
): Promise<SystemReport> {
  const now = options.now ?? new Date();
  const pendingMaxAge = options.pendingOrderMaxAgeMs ?? 5 * 60_000;
  const violations: string[] = [];
  const products = await stock.listProducts();
  // The ledgers are read once for every SKU: read bucket by bucket, each read is a scan of its shard's whole
  // ledger on FerretDB, and a long-running store's check timed out.
  const snapshot = await readLedgerSnapshot(stock, shards);
  const reports = await Promise.all(products.map((p) => checkInvariants(stock, shards, p.sku, { snapshot })));
  for (const r of reports) violations.push(...r.violations.map((v) => `${r.sku}: ${v}`));
  const reportOf = new Map(reports.map((r) => [r.sku, r]));

  const ledger = [...snapshot.ledgers.values()].flat();
  const settles = ledger.filter((e) => e.opId.startsWith('settle:'));
  const reservations = ledger.filter((e) => e.kind === 'reserve');
  const [lines, orders, gateway] = await Promise.all([
    new CartLineStore(shards).all(),
    new OrderStore(shards).all(),
    allOf<GatewayRecord>(shards, 'carts', collections.carts.gateway),
  ]);
  const settleOf = new Map(settles.map((e) => [e.opId.slice('settle:'.length), e]));
  const ordersById = new Map(orders.map((o) => [o.orderId, o]));
  const final = (o: Order | undefined) => o?.status === 'completed' || o?.status === 'failed';

  // 2, 3, 8: lines
  const lineCounts: Record<string, number> = {};
  for (const line of lines) {
    lineCounts[line.status] = (lineCounts[line.status] ?? 0) + 1;
    const settled = line.holds.map((h) => settleOf.get(h.holdId)?.kind);
    switch (line.status) {
      case 'pending':
        if (!line.expiresAt || Date.parse(line.expiresAt) <= now.getTime()) {
          violations.push(`line ${line.holdId}: pending past its expiry`);
        }
        if (settled.some((k) => k !== undefined))
          violations.push(`line ${line.holdId}: pending but its stock was settled`);
        if (line.orderId && final(ordersById.get(line.orderId))) {
          violations.push(`line ${line.holdId}: locked by order ${line.orderId}, which has finished`);
        }
        break;
      case 'expired':
      case 'removed':
        if (settled.some((k) => k !== 'release'))
          violations.push(`line ${line.holdId}: ${line.status} but not released`);
        break;
      case 'purchased': {
        const order = line.orderId ? ordersById.get(line.orderId) : undefined;
        if (order?.status !== 'completed' || !order.lines.some((l) => l.holdId === line.holdId)) {
          violations.push(`line ${line.holdId}: purchased, but no completed order lists it`);
        }
        break;
      }
      case 'waitlisted':
        if (line.holds.length > 0) violations.push(`line ${line.holdId}: waitlisted but holds stock`);
        break;
      case 'backordered': {
        const available = reportOf.get(line.sku)?.totals.available ?? 0;
        if (available > 0)
          violations.push(`line ${line.holdId}: backordered while ${line.sku} has ${available} available`);
        break;
      }
    }
  }
  const owned = new Set<string>();
  for (const line of lines.filter((l) => l.status === 'pending')) {
    for (const h of line.holds) {
      // One unit, one line: a hold (an offer's included) is never promised to two lines.
      if (owned.has(h.holdId)) violations.push(`hold ${h.holdId}: owned by more than one pending line`);
      owned.add(h.holdId);
    }
  }
  // A reservation is one member of a batch's entry: the hold id is the member's operation id.
  for (const holdId of reservations.flatMap((e) => e.members?.map((m) => m.opId) ?? [])) {
    if (!settleOf.has(holdId) && !owned.has(holdId))
      violations.push(`hold ${holdId}: open, but no pending line owns it`);
  }

  // 4, 5, 6, 9: orders, money and sold units
  const charges = gateway.filter((g): g is ChargeRecord => g.kind === 'charge');
  const refunds = gateway.filter((g): g is RefundRecord => g.kind === 'refund');
  const chargeOf = new Map<string, ChargeRecord[]>();
  for (const c of charges) {
    const orderId = c.chargeId.replace(/^ch_/, '');
    chargeOf.set(orderId, [...(chargeOf.get(orderId) ?? []), c]);
  }
  const refunded = new Set(refunds.map((r) => r.chargeId));
  const buyerOfLine = new Map<string, string>();
  const buyerOfHold = new Map<string, string>();
  const orderCounts: Record<string, number> = {};
  let ordersCents = 0;
  for (const order of orders) {
    orderCounts[order.status] = (orderCounts[order.status] ?? 0) + 1;
    const own = chargeOf.get(order.orderId) ?? [];
    if (own.length > 1) violations.push(`order ${order.orderId}: charged ${own.length} times`);
    const standing = own.filter((c) => !refunded.has(c.chargeId));
    if (order.status === 'completed') {
      ordersCents += order.totalCents;
      const total = order.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      if (total !== order.totalCents)
        violations.push(`order ${order.orderId}: total ${order.totalCents}, lines ${total}`);
      if (standing.length !== 1) violations.push(`order ${order.orderId}: completed without a standing charge`);
      else if (standing[0]!.amountCents !== order.totalCents) {
        violations.push(
          `order ${order.orderId}: charged ${standing[0]!.amountCents} for a total of ${order.totalCents}`,
        );
      }
      for (const ol of order.lines) {
        const earlier = buyerOfLine.get(ol.holdId);
        if (earlier) violations.push(`line ${ol.holdId}: bought by orders ${earlier} and ${order.orderId}`);
        buyerOfLine.set(ol.holdId, order.orderId);
        if (sumQty(ol.holds) !== ol.quantity) {
          violations.push(`order ${order.orderId}: charged ${ol.quantity} of ${ol.sku}, holds ${sumQty(ol.holds)}`);
        }
        for (const h of ol.holds) {
          buyerOfHold.set(h.holdId, order.orderId);
          const settle = settleOf.get(h.holdId);
          if (settle?.kind !== 'commit' || settle.qty !== h.qty) {
            violations.push(`order ${order.orderId}: completed but ${h.qty} of ${ol.sku} (${h.holdId}) not sold to it`);
          }
        }
      }
    } else if (order.status === 'failed') {
      if (standing.length > 0) violations.push(`order ${order.orderId}: failed, but its charge was not refunded`);
    } else if (now.getTime() - Date.parse(order.updatedAt) > pendingMaxAge) {
      violations.push(`order ${order.orderId}: still pending since ${order.updatedAt}`);
    }
  }
  const sold: Record<string, number> = {};
  for (const commit of settles.filter((e) => e.kind === 'commit')) {
    sold[commit.sku] = (sold[commit.sku] ?? 0) + commit.qty;
    const holdId = commit.opId.slice('settle:'.length);
    if (!buyerOfHold.has(holdId))
      violations.push(`hold ${holdId}: ${commit.qty} of ${commit.sku} sold to no completed order`);
  }
  let chargedCents = 0;
  for (const charge of charges) {
    chargedCents += charge.amountCents;
    if (!ordersById.has(charge.chargeId.replace(/^ch_/, '')))
      violations.push(`charge ${charge.chargeId}: no such order`);
  }
  const refundedCents = refunds.reduce((sum, r) => sum + r.amountCents, 0);
  if (chargedCents - refundedCents !== ordersCents) {
    violations.push(`money: charged ${chargedCents} − refunded ${refundedCents} ≠ completed orders ${ordersCents}`);
  }

  violations.push(...(await checkAllowances(shards, products, lines, orders)));
  // 11: waiting rooms
  for (const product of products.filter((p) => p.admitPerSecond !== undefined)) {
    const { sku } = product;
    const ofSku = lines.filter((l) => l.sku === sku).map((l) => l.holdId);
    const found = waitingRoomViolations(await waitingRoomRecords(shards, sku), ofSku);
    violations.push(...found.map((v) => `${sku} waiting room: ${v}`));
  }
  // 13: waitlists
  violations.push(...waitlistViolations(products, lines, reportOf));
  // 12: events and webhooks
  violations.push(...(await eventViolations(shards, lines, orders)));

  return {
    ok: violations.length === 0,
    violations,
    stock: reports,
    counts: { lines: lineCounts, orders: orderCounts, charges: charges.length, refunds: refunds.length },
    totals: { chargedCents, refundedCents, ordersCents, sold },
  };
}

/**
 * Rule 10: held allowance = the held stock of the buyer's pending lines of the SKU, hold by hold, and committed
 * allowance = the units of the buyer's completed orders of it.
 */
async function checkAllowances(
  shards: ShardSet,
  products: readonly { sku: string; maxPerCustomer?: number }[],
  lines: readonly CartLine[],
  orders: readonly Order[],
): Promise<string[]> {
  const violations: string[] = [];
  const limitOf = new Map(products.flatMap((p) => (p.maxPerCustomer !== undefined ? [[p.sku, p.maxPerCustomer]] : [])));
  const [entries, carts] = await Promise.all([
    allOf<LedgerEntry>(shards, 'stock', collections.stock.allowances),
    new CartStore(shards).all(),
  ]);
  const reports = replayAllowances(entries);
  const customerOf = new Map(carts.map((c) => [c._id, c.customerId]));
  const bucketOf = (cartId: string, sku: string) =>
    allowanceBucketId(sku, { cartId, customerId: customerOf.get(cartId) });
  /** What the stock says a hold's allowance must have. */
  type Expected = { qty: number; state: 'open' | 'committed'; what: string };
  /** Per bucket, per hold. */
  const expected = new Map<string, Map<string, Expected>>();
  const expect = (cartId: string, sku: string, h: Hold, state: 'open' | 'committed', what: string) => {
    const bucketId = bucketOf(cartId, sku);
    if (h.allowance !== bucketId) {
      violations.push(`${what}: hold ${h.holdId} of limited ${sku} counted in ${h.allowance ?? 'no allowance'}`);
    }
    const holds = expected.get(bucketId) ?? new Map<string, Expected>();
    holds.set(h.holdId, { qty: h.qty, state, what });
    expected.set(bucketId, holds);
  };
  for (const line of lines) {
    if (line.status !== 'pending' || !limitOf.has(line.sku)) continue;
    for (const h of line.holds) expect(line.cartId, line.sku, h, 'open', `line ${line.holdId}`);
  }
  for (const order of orders) {
    if (order.status !== 'completed') continue;
    for (const ol of order.lines) {
      if (!limitOf.has(ol.sku)) continue;
      for (const h of ol.holds) expect(order.cartId, ol.sku, h, 'committed', `order ${order.orderId}`);
    }
  }
  const reportOf = new Map(reports.map((r) => [r.bucketId, r]));
  for (const r of reports) {
    violations.push(...r.violations.map((v) => `allowance ${r.bucketId}: ${v}`));
    const limit = limitOf.get(r.sku);
    if (limit !== r.limit)
      violations.push(`allowance ${r.bucketId}: opened with ${r.limit}, ${r.sku}'s limit is ${limit}`);
    const wanted = expected.get(r.bucketId) ?? new Map<string, unknown>();
    for (const h of r.holds.values()) {
      if (h.state === 'released' || wanted.has(h.holdId)) continue;
      violations.push(
        `allowance ${r.bucketId}: hold ${h.holdId} ${h.state} (${h.qty}) for no pending line or completed order`,
      );
    }
  }
  for (const [bucketId, holds] of expected) {
    const report = reportOf.get(bucketId);
    let held = 0;
    let bought = 0;
    for (const [holdId, want] of holds) {
      if (want.state === 'open') held += want.qty;
      else bought += want.qty;
      const got = report?.holds.get(holdId);
      if (got?.state !== want.state || got.qty !== want.qty) {
        violations.push(
          `${want.what}: ${want.qty} of hold ${holdId} should be ${want.state} in allowance ${bucketId}, which has ${
            got ? `${got.qty} ${got.state}` : 'nothing'
          }`,
        );
      }
    }
    if (report && (report.balances.held !== held || report.balances.sold !== bought)) {
      violations.push(
        `allowance ${bucketId}: held ${report.balances.held} and bought ${report.balances.sold}, its lines hold ${held} and its orders bought ${bought}`,
      );
    }
  }
  return violations;
}
