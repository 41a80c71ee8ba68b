import { collections, type ShardSet } from '../db';
import type { GatewayRecord } from '../activities/payment-gateway';
import { checkInvariants, type InvariantReport, type StockService } from '../stock';
import type { LedgerEntry } from '../stock/types';
import type { CartLine, Order } from '../workflows/types';

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
}

async function allOf<T>(shards: ShardSet, db: 'stock' | 'carts', name: string, filter: object = {}): Promise<T[]> {
  const parts = await Promise.all(
    Array.from({ length: shards.size }, (_, s) =>
      (db === 'stock' ? shards.stockDb(s) : shards.cartsDb(s)).collection(name).find(filter).toArray(),
    ),
  );
  return parts.flat() as T[];
}

/**
 * Checks the whole system once it is quiet (no checkout in flight), across the ledger, carts, orders and the
 * payment provider's records:
 * - every SKU's ledger invariants (sold + held + available + non-sellable = received, ledger = balances...);
 * - every hold is resolved: its line purchased (committed), expired or removed (released), or still pending
 *   with a future expiry;
 * - no order completed without its stock: each completed order's holds were committed;
 * - no double charge and no charge without an order, and every failed order's charge was refunded.
 */
export async function checkSystem(stock: StockService, shards: ShardSet, now = new Date()): Promise<SystemReport> {
  const violations: string[] = [];
  const products = await stock.listProducts();
  const reports = await Promise.all(products.map((p) => checkInvariants(stock, shards, p.sku)));
  for (const r of reports) violations.push(...r.violations.map((v) => `${r.sku}: ${v}`));

  const ledger = await allOf<LedgerEntry>(shards, 'stock', collections.stock.ledger, { opId: /^settle:/ });
  const settleOf = new Map(ledger.map((e) => [e.opId.slice('settle:'.length), e.kind]));
  const reservations = await allOf<LedgerEntry>(shards, 'stock', collections.stock.ledger, { kind: 'reserve' });
  const lines = await allOf<CartLine>(shards, 'carts', collections.carts.lines);
  const orders = await allOf<Order>(shards, 'carts', collections.carts.orders);
  const gateway = await allOf<GatewayRecord>(shards, 'carts', collections.carts.gateway);

  const lineCounts: Record<string, number> = {};
  for (const line of lines) {
    lineCounts[line.status] = (lineCounts[line.status] ?? 0) + 1;
    const settled = line.holds.map((h) => settleOf.get(h.holdId));
    switch (line.status) {
      case 'pending':
        if (!line.expiresAt || Date.parse(line.expiresAt) <= now.getTime()) {
          violations.push(`line ${line.holdId}: pending past its expiry`);
        }
        if (settled.some((k) => k !== undefined))
          violations.push(`line ${line.holdId}: pending but its stock was settled`);
        break;
      case 'expired':
      case 'removed':
        if (settled.some((k) => k !== 'release'))
          violations.push(`line ${line.holdId}: ${line.status} but not released`);
        break;
      case 'purchased':
        // A purchased line's own holds were committed, or (expired during checkout) reserved again by the order.
        if (!line.orderId) violations.push(`line ${line.holdId}: purchased without an order`);
        break;
      case 'backordered':
        break;
    }
  }

  // Every open hold belongs to a pending line: stock taken for nobody would be held forever.
  const owned = new Set(lines.filter((l) => l.status === 'pending').flatMap((l) => l.holds.map((h) => h.holdId)));
  for (const r of reservations) {
    if (!settleOf.has(r.opId) && !owned.has(r.opId))
      violations.push(`hold ${r.opId}: open, but no pending line owns it`);
  }

  const charges = gateway.filter((g) => g.kind === 'charge');
  const refunds = new Set(gateway.filter((g) => g.kind === 'refund').map((g) => g.chargeId));
  const ordersById = new Map(orders.map((o) => [o.orderId, o]));
  const orderCounts: Record<string, number> = {};
  for (const order of orders) {
    orderCounts[order.status] = (orderCounts[order.status] ?? 0) + 1;
    if (order.status === 'completed') {
      if (!order.chargeId) violations.push(`order ${order.orderId}: completed without a charge`);
      const orderLines = lines.filter((l) => l.orderId === order.orderId);
      for (const ol of order.lines) {
        const line = orderLines.find((l) => l.holdId === ol.holdId);
        const committed =
          (line?.holds ?? []).every((h) => settleOf.get(h.holdId) === 'commit') ||
          settleOf.get(`${order.orderId}:${ol.holdId}`) === 'commit';
        if (!committed) violations.push(`order ${order.orderId}: completed but ${ol.sku} was not sold to it`);
      }
    }
  }
  const chargesPerKey = new Map<string, number>();
  for (const charge of charges) {
    const orderId = charge.chargeId.replace(/^ch_/, '');
    chargesPerKey.set(orderId, (chargesPerKey.get(orderId) ?? 0) + 1);
    const order = ordersById.get(orderId);
    if (!order) violations.push(`charge ${charge.chargeId}: no such order`);
    else if (order.status !== 'completed' && !refunds.has(charge.chargeId)) {
      violations.push(`charge ${charge.chargeId}: order ${order.status} and not refunded`);
    }
  }
  for (const [orderId, n] of chargesPerKey) if (n > 1) violations.push(`order ${orderId}: charged ${n} times`);

  return {
    ok: violations.length === 0,
    violations,
    stock: reports,
    counts: { lines: lineCounts, orders: orderCounts, charges: charges.length, refunds: refunds.size },
  };
}
