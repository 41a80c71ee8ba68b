import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type { BackorderQueue, InvariantReport, Order, ProductView, SystemReport } from '../../src/client';
import { HoldStatus } from '../../src/contract/search-attributes';
import type { Balances } from '../../src/stock';
import { describe, type ApiClient } from './api';
import { log } from './log';
import type { BackorderLine, LineView, PlacedOrder, SaleRecord } from './shoppers';

export type { ProductView } from '../../src/client';
/** GET /v1/products/:sku/backorders (ops): the queue's waiting entries, in fill order, and its fills so far. */
export type QueueView = BackorderQueue;
/** GET /v1/ops/check. */
export type SystemCheck = SystemReport;

// The two below narrow the document's types to what the routes always answer and the report's arithmetic needs:
// the Order and InvariantReport schemas leave these fields optional (and `totals` an open map) though every
// answer has them. Once the schemas require them, these are the plain Order and InvariantReport.
/** GET /v1/orders/:id. */
export type OrderView = Omit<Order, 'lines'> & { readonly lines: Required<Order['lines'][number]>[] };
/** GET /v1/ops/invariants/:sku. */
export type SkuInvariants = Required<InvariantReport> & { readonly totals: Balances };

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
  /** Runs still going that should have ended: all but the backorder queues and the lines waiting in them. */
  readonly runningWorkflows: number;
  /** Hold runs of lines waiting in a backorder queue: these may run for as long as nobody restocks. */
  readonly waitingLineRuns: number;
  /** The backorder lines as their carts show them at the end. */
  readonly backorderLines: ReadonlyMap<string, LineView>;
  /** How many times the check ran before the system was quiet (or the deadline passed). */
  readonly attempts: number;
  readonly quiet: boolean;
  /** What the first check reported, when it was not clean (the later ones may have healed). */
  readonly firstViolations: string[];
}

export interface QuietOptions {
  readonly api: ApiClient;
  readonly opsToken: string;
  readonly temporalAddress: string;
  /** Polling stops here, unless a filled backorder still holds stock: then until its expiry plus `lateMs`. */
  readonly deadline: number;
  /** However long fills keep coming, polling stops here. */
  readonly lastDeadline: number;
  /** How late a hold's timer may fire (it came due while the worker or Temporal was down). */
  readonly lateMs: number;
  readonly backorderLines: readonly BackorderLine[];
}

/**
 * Once the orders are done and the holds' TTL has passed, every hold and checkout workflow must end and the
 * system check must come back clean. Hold timers that fired while the worker or Temporal was down run late,
 * so this polls until both hold, or the deadline. Two kinds of run may go on: each backorder SKU's queue, and
 * the lines still waiting in it. A waiting line may be filled at any time (units an expiry gave back go to
 * the queue first), and is then held for a TTL of its own: while a backorder line is held, the wait runs to
 * its expiry.
 */
export async function waitUntilQuiet(options: QuietOptions): Promise<QuietState> {
  const { api, opsToken } = options;
  const connection = await Connection.connect({ address: options.temporalAddress });
  try {
    const client = new Client({ connection });
    let firstViolations: string[] = [];
    const lines = new Map<string, LineView>();
    for (let attempts = 1; ; attempts++) {
      const answer = await api.send<SystemCheck>('GET', '/v1/ops/check', 'system check', { token: opsToken });
      if (answer.status !== 200) throw new Error(`GET /v1/ops/check: ${describe(answer)}`);
      const check = answer.body;
      if (attempts === 1 && !check.ok) firstViolations = check.violations;
      let runningWorkflows = 0;
      let waitingLineRuns = 0;
      for await (const run of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
        if (run.type === 'backorderQueueWorkflow') continue;
        if (run.type === 'holdWorkflow' && run.typedSearchAttributes.get(HoldStatus) === 'backordered') {
          waitingLineRuns++;
        } else runningWorkflows++;
      }
      await readLines(api, options.backorderLines, lines);
      const held = [...lines.values()].filter((l) => l.status === 'pending');
      const heldUntil = Math.max(0, ...held.map((l) => Date.parse(l.expiresAt ?? '') || 0));
      const quiet = check.ok && runningWorkflows === 0 && held.length === 0;
      const deadline = Math.min(options.lastDeadline, Math.max(options.deadline, heldUntil + options.lateMs));
      if (quiet || Date.now() >= deadline) {
        return { check, runningWorkflows, waitingLineRuns, backorderLines: lines, attempts, quiet, firstViolations };
      }
      log(
        `waiting for quiet: ${runningWorkflows} workflows running, ${held.length} filled backorders held, ` +
          `${check.violations.length} violations reported`,
      );
      await sleep(3000);
    }
  } finally {
    await connection.close();
  }
}

/** Reads the carts of the backorder lines not known to have ended into `lines` (a line never comes back). */
async function readLines(api: ApiClient, backorderLines: readonly BackorderLine[], lines: Map<string, LineView>) {
  const ended = (holdId: string) => ['purchased', 'expired', 'removed'].includes(lines.get(holdId)?.status ?? '');
  const ours = new Set(backorderLines.map((l) => l.holdId));
  const carts = [...new Map(backorderLines.filter((l) => !ended(l.holdId)).map((l) => [l.cart.cartId, l.cart]))];
  for (let i = 0; i < carts.length; i += 8) {
    await Promise.all(
      carts.slice(i, i + 8).map(async ([cartId, cart]) => {
        const answer = await api.send<{ lines: LineView[] }>('GET', `/v1/carts/${cartId}`, 'read cart', {
          token: cart.token,
        });
        if (answer.status !== 200) throw new Error(`GET /v1/carts/${cartId}: ${describe(answer)}`);
        for (const line of answer.body.lines) if (ours.has(line.holdId)) lines.set(line.holdId, line);
      }),
    );
  }
}

/** The backorder queue of a SKU (ops), as it stands once the system is quiet. */
export async function readQueue(api: ApiClient, opsToken: string, sku: string): Promise<QueueView> {
  const answer = await api.send<QueueView>('GET', `/v1/products/${sku}/backorders`, 'backorder queue', {
    token: opsToken,
  });
  if (answer.status !== 200) throw new Error(`GET /v1/products/${sku}/backorders: ${describe(answer)}`);
  return answer.body;
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
  if (/is checking out this cart/.test(reason)) return 'checkout_in_progress';
  if (/expired and the stock is gone/.test(reason)) return 'out_of_stock';
  return reason;
}
