import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { describe, type ApiClient } from './api';
import { log } from './log';
import type { PlacedOrder, SaleRecord } from './shoppers';

export interface OrderView {
  readonly orderId: string;
  readonly cartId: string;
  readonly status: 'pending' | 'completed' | 'failed';
  readonly reason?: string;
  readonly lines: { holdId: string; sku: string; quantity: number }[];
}

/** GET /v1/ops/check. */
export interface SystemCheck {
  readonly ok: boolean;
  readonly violations: string[];
  readonly counts: {
    readonly lines: Record<string, number>;
    readonly orders: Record<string, number>;
    readonly charges: number;
    readonly refunds: number;
  };
}

/** GET /v1/ops/invariants/:sku. */
export interface SkuInvariants {
  readonly sku: string;
  readonly ok: boolean;
  readonly violations: string[];
  readonly totals: Record<'available' | 'incoming' | 'held' | 'sold' | 'received', number>;
  readonly inTransit: number;
  readonly openHolds: number;
  readonly unrecorded: number;
}

/** GET /v1/products/:sku. */
export interface ProductView {
  readonly sku: string;
  readonly available: number;
  readonly reserved: number;
  readonly sold: number;
  readonly incoming?: number;
  readonly nonSellable: { returned?: number; repair?: number; damaged?: number };
}

export interface FinalOrder extends PlacedOrder {
  /** The order's last state, or undefined when it was never readable. */
  readonly view: OrderView | undefined;
}

/**
 * Polls every placed order (GET /v1/orders/:id with its cart's token) until it is completed or failed, or
 * the deadline passes. A 404 right after a 202 means the workflow has not written the order yet.
 */
export async function waitForOrders(
  api: ApiClient,
  orders: readonly PlacedOrder[],
  deadline: number,
  record: SaleRecord,
): Promise<FinalOrder[]> {
  const unique = [...new Map(orders.map((o) => [o.orderId, o])).values()];
  const views = new Map<string, OrderView>();
  const open = () => unique.filter((o) => !['completed', 'failed'].includes(views.get(o.orderId)?.status ?? ''));
  for (let round = 0; ; round++) {
    const pending = open();
    for (let i = 0; i < pending.length; i += 8) {
      await Promise.all(
        pending.slice(i, i + 8).map(async (o) => {
          const answer = await api.send<OrderView>('GET', `/v1/orders/${o.orderId}`, 'get order', {
            token: o.cart.token,
          });
          if (answer.status === 200) views.set(o.orderId, answer.body);
          else if (answer.status !== 404) {
            record.unexpectedAnswer(
              `get order: ${describe(answer)}`,
              `order ${o.orderId} ${JSON.stringify(answer.body)}`,
            );
          }
        }),
      );
    }
    const left = open().length;
    if (left === 0 || Date.now() >= deadline) break;
    if (round % 5 === 0) log(`orders: ${unique.length - left}/${unique.length} finished`);
    await sleep(2000);
  }
  return unique.map((o) => ({ ...o, view: views.get(o.orderId) }));
}

export interface QuietState {
  readonly check: SystemCheck;
  readonly runningWorkflows: number;
  /** How many times the check ran before the system was quiet (or the deadline passed). */
  readonly attempts: number;
  readonly quiet: boolean;
  /** What the first check reported, when it was not clean (the later ones may have healed). */
  readonly firstViolations: string[];
}

/**
 * Once the orders are done and the holds' TTL has passed, every hold and checkout workflow must end and the
 * system check must come back clean. Hold timers that fired while the worker or Temporal was down run late,
 * so this polls until both hold, or the deadline.
 */
export async function waitUntilQuiet(
  api: ApiClient,
  opsToken: string,
  temporalAddress: string,
  deadline: number,
): Promise<QuietState> {
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection });
    let firstViolations: string[] = [];
    for (let attempts = 1; ; attempts++) {
      const answer = await api.send<SystemCheck>('GET', '/v1/ops/check', 'system check', { token: opsToken });
      if (answer.status !== 200) throw new Error(`GET /v1/ops/check: ${describe(answer)}`);
      const check = answer.body;
      const { count } = await client.workflow.count(`ExecutionStatus = 'Running'`);
      if (attempts === 1 && !check.ok) firstViolations = check.violations;
      const quiet = check.ok && count === 0;
      if (quiet || Date.now() >= deadline) return { check, runningWorkflows: count, attempts, quiet, firstViolations };
      log(`waiting for quiet: ${count} workflows running, ${check.violations.length} violations reported`);
      await sleep(3000);
    }
  } finally {
    await connection.close();
  }
}

export async function readStock(
  api: ApiClient,
  opsToken: string,
  skus: readonly string[],
): Promise<{ invariants: SkuInvariants; product: ProductView }[]> {
  return Promise.all(
    skus.map(async (sku) => {
      const [inv, product] = await Promise.all([
        api.send<SkuInvariants>('GET', `/v1/ops/invariants/${sku}`, 'invariants', { token: opsToken }),
        api.send<ProductView>('GET', `/v1/products/${sku}`, 'product'),
      ]);
      if (inv.status !== 200) throw new Error(`GET /v1/ops/invariants/${sku}: ${describe(inv)}`);
      if (product.status !== 200) throw new Error(`GET /v1/products/${sku}: ${describe(product)}`);
      return { invariants: inv.body, product: product.body };
    }),
  );
}

/** The order's failure reason as a code (the saga's failure types). */
export function failureKind(reason: string | undefined): string {
  if (!reason) return 'unknown';
  if (/declined/.test(reason)) return 'card_declined';
  if (/did not go through/.test(reason)) return 'payment_failed';
  if (/no held lines/.test(reason)) return 'cart_empty';
  if (/expired and the stock is gone/.test(reason)) return 'out_of_stock';
  return reason;
}
