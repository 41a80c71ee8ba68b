import { setTimeout as sleep } from 'node:timers/promises';
import type { ResponseBody } from '../../src/client';
import { describe, GaveUpError, type ApiClient } from './api';
import { elapsed, log } from './log';
import type { QueueView } from './settle';
import type { SaleRecord } from './shoppers';

export interface OpsOptions {
  readonly api: ApiClient;
  readonly opsToken: string;
  /** The backorder-policy SKU ops restock and whose queue they reorder. */
  readonly sku: string;
  readonly restockUnits: number;
  /** The share of shoppers started so far: the restocks come as it passes each of `restockAt`. */
  readonly started: () => number;
  /** Resolves when the load has finished: restocks still due are sent at once, and ops stop. */
  readonly loadDone: Promise<unknown>;
  readonly signal: AbortSignal;
}

/** Restocks come as these shares of the shoppers have started. */
export const restockAt = [0.1, 0.25, 0.4, 0.55, 0.7, 0.85];
/** How often ops look at the backorder queue. */
const tickMs = 1500;

/**
 * Ops beside the sale: restock the backorder SKU six times as the shoppers arrive (the second restock sent
 * twice at once with its key, as a client that timed out and retried might: it must be received once), and
 * every few seconds move the newest waiting backorder to the head of its queue. Every write carries an
 * Idempotency-Key, and the API client retries transient failures with the same key.
 */
export async function runOps(options: OpsOptions, record: SaleRecord): Promise<void> {
  const { api, opsToken: token, sku, signal } = options;
  let loadRunning = true;
  void options.loadDone.finally(() => (loadRunning = false));

  async function restock(n: number): Promise<void> {
    const body = { quantity: options.restockUnits };
    const post = () =>
      api.send<ResponseBody<'restockProduct', 202>>('POST', `/v1/products/${sku}/restock`, 'restock', {
        token,
        idempotencyKey: `restock-${sku}-${n}`,
        body,
      });
    const answers = n === 1 ? await Promise.all([post(), post()]) : [await post()];
    const first = answers[0]!;
    if (first.status !== 202) {
      record.unexpectedAnswer(`restock: ${describe(first)}`, `${sku} ${JSON.stringify(first.body)}`);
      return;
    }
    if (answers.length > 1) {
      record.duplicates.restocks++;
      const ops = answers.map((a) => `${a.status} ${a.body.opId}`);
      if (new Set(ops).size > 1) record.violations.push(`restock of ${sku}: one Idempotency-Key, two answers: ${ops}`);
    }
    record.restocks.push({ at: elapsed(), quantity: body.quantity, opId: first.body.opId });
    log(`ops: restocked ${sku} with ${body.quantity} units (${n + 1}/${restockAt.length})`);
  }

  async function reprioritise(n: number): Promise<void> {
    const queue = await api.send<QueueView>('GET', `/v1/products/${sku}/backorders`, 'backorder queue', {
      token,
    });
    if (queue.status !== 200) {
      record.unexpectedAnswer(`backorder queue: ${describe(queue)}`, sku);
      return;
    }
    const { waiting } = queue.body;
    if (waiting.length < 2) return;
    // The newest arrival jumps the queue: its shopper is the likeliest to be still at the cart when it is filled.
    const { holdId } = waiting.at(-1)!;
    const answer = await api.send('POST', `/v1/products/${sku}/backorders/${holdId}/position`, 'reprioritise', {
      token,
      idempotencyKey: `reprioritise-${n}`,
      body: { position: 0 },
    });
    // Filled or removed since the queue was read: 404 or 409.
    const outcome = answer.status >= 200 && answer.status < 300 ? 'moved' : describe(answer);
    if (outcome === 'moved' || answer.status === 404 || answer.status === 409) record.reprioritised.add(outcome);
    else record.unexpectedAnswer(`reprioritise: ${outcome}`, `${holdId} ${JSON.stringify(answer.body)}`);
  }

  /** A write that kept failing past the retry budget is reported, and ops carry on with the next. */
  async function attempt(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (err) {
      signal.throwIfAborted();
      const message = err instanceof Error ? err.message : String(err);
      record.unfinished.push(`ops ${what}: ${err instanceof GaveUpError ? '' : 'error: '}${message}`);
    }
  }

  // Two loops, so that a request retried through a fault in one does not hold up the other.
  const restocks = async () => {
    for (const [n, share] of restockAt.entries()) {
      while (loadRunning && options.started() < share) {
        await Promise.race([options.loadDone, sleep(250, undefined, { signal, ref: false })]);
      }
      signal.throwIfAborted();
      await attempt(`restock ${n + 1}`, () => restock(n));
    }
  };
  const moves = async () => {
    for (let n = 0; loadRunning; n++) {
      await attempt('reprioritise', () => reprioritise(n));
      await Promise.race([options.loadDone, sleep(tickMs, undefined, { signal, ref: false })]);
      signal.throwIfAborted();
    }
  };
  await Promise.all([restocks(), moves()]);
}
