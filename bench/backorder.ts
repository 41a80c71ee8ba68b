/**
 * `npm run bench -- --scenario backorder`: shoppers order a backorder SKU with no stock (every line is
 * backordered), then ops restock it in waves. Every restocked unit must fill the queue strictly in arrival order:
 * the lines filled are exactly the first ones of the queue as it stood before the restock, and each became a
 * pending (held) line. Writes bench/results/backorder.json.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Tally } from './harness/tally';
import { runLoad, summarize } from './harness/load';
import { Progress } from './lib/progress';
import { round } from './harness/percentiles';
import { writeJson } from './lib/results';
import { environment, errorList, phase, printErrors, reportFailures, type ScenarioContext } from './lib/scenario';
import { benchSku, pollUntil, Shop, throwOnErrors, type AddToCart, type BackorderQueue, type Cart } from './lib/shop';
import { HttpClient } from './lib/http';
import { warmUp } from './lib/warm-up';

const resultsFile = path.join(import.meta.dirname, 'results', 'backorder.json');
/** How long one restock wave may take to fill its units before the run gives up on it. */
const waveTimeoutMs = 300_000;

export async function backorder({ args, stack, signal }: ScenarioContext): Promise<number> {
  const { shoppers, units, concurrency, waves } = args;
  const shop = new Shop(new HttpClient(stack.apiUrl, concurrency), stack.opsToken);
  const progress = new Progress(4 + waves, 'phases');
  try {
    const sku = benchSku('backorder');
    await shop.createProduct(sku, 0, 'backorder');
    phase(progress, `${sku}: backorder policy, 0 units; ${shoppers} shoppers at concurrency ${concurrency}`);

    phase(progress, `creating ${shoppers} carts`);
    const carts = await shop.createCarts(shoppers, concurrency, progress, signal);
    await warmUp(shop, 'backorder', concurrency, signal);

    phase(progress, `add-to-cart: ${shoppers} orders, each backordered`);
    const orders = await runLoad({
      total: shoppers,
      concurrency,
      send: (i) => shop.addToCart(carts[i]!, sku, `add-${i}`),
      signal,
      onProgress: progress.startCell(`add-to-cart (${shoppers})`, 'requests'),
    });
    progress.finishCell();
    signal.throwIfAborted();
    const ordersDoneAt = performance.now();

    const errors = new Tally();
    errors.merge(orders.errors);
    const cartOfHold = new Map<string, Cart>();
    const unexpected = new Tally();
    for (const t of orders.results) {
      if (t.result.error) errors.add(t.result.error);
      else if (t.result.holdStatus === 'backordered' && t.result.holdId)
        cartOfHold.set(t.result.holdId, carts[t.index]!);
      else unexpected.add(`answered ${t.result.holdStatus} instead of backordered`);
    }
    const backordered = cartOfHold.size;

    phase(progress, `waiting until the queue holds all ${backordered} backorders`);
    const enqueued = await pollUntil(
      () => shop.backorders(sku),
      (q) => q.waiting.length >= backordered,
      { timeoutMs: 300_000, everyMs: 1000, signal },
    );
    const enqueueLagMs = Math.round(performance.now() - ordersDoneAt);
    const before = enqueued.value.waiting.map((e) => e.holdId);
    const queued = new Set(before);
    const missingFromQueue = [...cartOfHold.keys()].filter((id) => !queued.has(id)).length;
    const strangers = before.filter((id) => !cartOfHold.has(id)).length;
    const arrivedAtInversions = inversions(enqueued.value.waiting.map((e) => Date.parse(e.arrivedAt)));
    const filledBefore = enqueued.value.filled;
    progress.finishCell();

    // Restock in waves: each wave's units must fill the next backorders in the queue before the next wave.
    const expectedFilled = Math.min(units, before.length);
    const sizes = Array.from({ length: waves }, (_, i) => Math.floor(units / waves) + (i < units % waves ? 1 : 0));
    const tag = randomBytes(4).toString('hex');
    const waveResults: { quantity: number; fillMs: number; filledSoFar: number; met: boolean }[] = [];
    let queue: BackorderQueue = enqueued.value;
    let restocked = 0;
    const fillStart = performance.now();
    for (const [i, quantity] of sizes.entries()) {
      if (quantity === 0) continue;
      restocked += quantity;
      const target = filledBefore + Math.min(restocked, before.length);
      phase(progress, `restock wave ${i + 1}/${waves}: ${quantity} units, waiting for ${target - filledBefore} fills`);
      const update = progress.startCell(`restock wave ${i + 1}/${waves} (${quantity})`, 'filled');
      const t0 = performance.now();
      await shop.restock(sku, quantity, `wave-${tag}-${i}`);
      const waited = await pollUntil(
        () => shop.backorders(sku),
        (q) => {
          update((q.filled - filledBefore) / Math.max(1, target - filledBefore), q.filled - filledBefore);
          return q.filled >= target;
        },
        { timeoutMs: waveTimeoutMs, everyMs: 1000, signal },
      );
      queue = waited.value;
      progress.finishCell();
      waveResults.push({
        quantity,
        fillMs: Math.round(performance.now() - t0),
        filledSoFar: queue.filled - filledBefore,
        met: waited.met,
      });
      if (!waited.met) {
        console.error(`wave ${i + 1}: only ${queue.filled - filledBefore} of ${target - filledBefore} filled`);
        break;
      }
    }
    const totalFillMs = Math.round(performance.now() - fillStart);

    // Arrival order: the queue's order before the restock; what is left must be its tail, untouched.
    const after = queue.waiting.map((e) => e.holdId);
    const filledCount = queue.filled - filledBefore;
    const tailInOrder = sameList(after, before.slice(expectedFilled));
    const filledIds = before.slice(0, expectedFilled);

    phase(progress, `checking the ${before.length} lines: the first ${expectedFilled} pending, the rest backordered`);
    const lines = await checkLines(shop, cartOfHold, new Set(filledIds), concurrency, progress, signal);
    const view = await shop.product(sku);
    const invariants = await shop.invariants(sku);
    progress.stop();

    const inOrder =
      tailInOrder && filledCount === expectedFilled && lines.filledNotPending === 0 && lines.unfilledNotWaiting === 0;
    const addToCart = summarize(orders, (r: AddToCart) => r.holdStatus !== undefined);
    const result = {
      scenario: 'backorder',
      shoppers,
      units,
      concurrency,
      waves,
      addToCart: {
        opsPerSec: addToCart.opsPerSec,
        p50Ms: addToCart.p50Ms,
        p95Ms: addToCart.p95Ms,
        p99Ms: addToCart.p99Ms,
        maxMs: addToCart.maxMs,
        requests: addToCart.requests,
        elapsedMs: addToCart.elapsedMs,
      },
      backordered,
      queueLength: before.length,
      queueComplete: enqueued.met,
      enqueueLagMs,
      missingFromQueue,
      strangersInQueue: strangers,
      queueVsArrivedAtInversions: arrivedAtInversions,
      restock: {
        waves: waveResults,
        totalFillMs,
        fillsPerSec: round(filledCount / (totalFillMs / 1000), 1),
      },
      expectedFilled,
      filled: filledCount,
      pending: lines.pending,
      stillBackordered: lines.backordered,
      inOrder,
      checks: {
        tailInOrder,
        filledNotPending: lines.filledNotPending,
        unfilledNotWaiting: lines.unfilledNotWaiting,
        lineStatuses: lines.statuses,
        product: {
          available: view.available,
          reserved: view.reserved,
          sold: view.sold,
          backordered: view.backordered,
          incoming: view.incoming,
        },
        invariants: { ok: invariants.ok, violations: invariants.violations },
      },
      errors: { addToCart: errorList(errors), unexpectedAnswers: errorList(unexpected) },
      ttlSeconds: args.ttlSeconds,
      environment: environment(),
      finishedAt: new Date().toISOString(),
    };
    await writeJson(resultsFile, result);

    console.log('');
    console.table({
      'add-to-cart (backordered)': {
        'ops/s': addToCart.opsPerSec,
        'p50 ms': addToCart.p50Ms,
        'p95 ms': addToCart.p95Ms,
        'p99 ms': addToCart.p99Ms,
        requests: addToCart.requests,
      },
    });
    console.table(
      Object.fromEntries(
        waveResults.map((w, i) => [
          `wave ${i + 1}`,
          { units: w.quantity, 'filled so far': w.filledSoFar, 'fill ms': w.fillMs },
        ]),
      ),
    );
    console.table({
      backordered,
      'queue length': before.length,
      'enqueue lag ms': enqueueLagMs,
      filled: filledCount,
      'pending lines': lines.pending,
      'still backordered': lines.backordered,
      'fills / s': result.restock.fillsPerSec,
      'in arrival order': inOrder,
    });
    printErrors('add-to-cart requests', errors);
    printErrors('answers', unexpected);
    console.log(`wrote ${path.relative(process.cwd(), resultsFile)}`);

    const leftover = units - expectedFilled;
    const exitCode = reportFailures([
      !inOrder && 'backorders were not filled in arrival order (see checks in the JSON)',
      errors.total > 0 && `${errors.total} add-to-cart requests failed`,
      unexpected.total > 0 && `${unexpected.total} add-to-cart answers were not backordered`,
      !enqueued.met && `the queue holds ${before.length} of ${backordered} backorders`,
      missingFromQueue > 0 && `${missingFromQueue} backorders missing from the queue`,
      !invariants.ok && `invariants: ${invariants.violations.join('; ')}`,
      view.reserved !== expectedFilled && `reserved ${view.reserved} != ${expectedFilled} filled`,
      view.available !== leftover && `available ${view.available} != ${leftover}`,
      view.backordered !== before.length - expectedFilled &&
        `backordered ${view.backordered} != ${before.length - expectedFilled}`,
    ]);
    return exitCode;
  } finally {
    progress.stop();
    await shop.http.close();
  }
}

/**
 * Reads every backordered line's cart: the filled ones must be pending (held), the others still backordered.
 * A fill reaches its line by a signal, so lines not there yet are read again for a while.
 */
async function checkLines(
  shop: Shop,
  cartOfHold: ReadonlyMap<string, Cart>,
  filled: ReadonlySet<string>,
  concurrency: number,
  progress: Progress,
  signal: AbortSignal,
) {
  const statuses = new Map<string, string>();
  const expected = (holdId: string) => (filled.has(holdId) ? 'pending' : 'backordered');
  let todo = [...cartOfHold.keys()];
  const update = progress.startCell(`lines (${todo.length})`, 'lines');
  const deadline = Date.now() + 60_000;
  while (todo.length > 0) {
    const batch = todo;
    const read = await runLoad({
      total: batch.length,
      concurrency,
      send: async (i) => {
        const holdId = batch[i]!;
        const lines = await shop.lines(cartOfHold.get(holdId)!);
        return { holdId, status: lines.find((l) => l.holdId === holdId)?.status ?? 'missing' };
      },
      signal,
    });
    throwOnErrors('reading cart lines', read);
    for (const { result } of read.results) statuses.set(result.holdId, result.status);
    todo = batch.filter((id) => statuses.get(id) !== expected(id));
    update((cartOfHold.size - todo.length) / cartOfHold.size, cartOfHold.size - todo.length);
    if (todo.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  progress.finishCell();
  const counts = new Tally();
  for (const status of statuses.values()) counts.add(status);
  let filledNotPending = 0;
  let unfilledNotWaiting = 0;
  for (const [holdId, status] of statuses) {
    if (filled.has(holdId) && status !== 'pending') filledNotPending++;
    if (!filled.has(holdId) && status !== 'backordered') unfilledNotWaiting++;
  }
  const byStatus = Object.fromEntries(counts.entries());
  return {
    pending: byStatus.pending ?? 0,
    backordered: byStatus.backordered ?? 0,
    statuses: byStatus,
    filledNotPending,
    unfilledNotWaiting,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Pairs out of order (i < j but v[i] > v[j]), by merge sort: how far the queue is from arrivedAt order. */
function inversions(values: readonly number[]): number {
  const sort = (v: number[]): [number[], number] => {
    if (v.length < 2) return [v, 0];
    const [left, a] = sort(v.slice(0, v.length >> 1));
    const [right, b] = sort(v.slice(v.length >> 1));
    const merged: number[] = [];
    let count = a + b;
    let i = 0;
    let j = 0;
    while (i < left.length && j < right.length) {
      if (left[i]! <= right[j]!) merged.push(left[i++]!);
      else {
        merged.push(right[j++]!);
        count += left.length - i;
      }
    }
    return [[...merged, ...left.slice(i), ...right.slice(j)], count];
  };
  return sort([...values])[1];
}
