/**
 * `npm run bench -- --scenario flash-sale`: shoppers race for a strict SKU's few units through the real HTTP API.
 * Measures add-to-cart throughput and latency against the Temporal floor (an empty workflow started the same
 * way on the same server), overall and for the held and the refusal path apart, in a closed loop of --concurrency
 * shoppers or at an arrival --rate; then checks the outcome: no 5xx, nothing oversold, every checkout sold,
 * nothing stranded once the holds lapsed. Writes bench/results/flash-sale.json and flash-sale.svg.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Tally } from './harness/tally';
import { cpuPerRequest, cpuSnapshot } from './lib/proc-cpu';
import { startFloorServer, type FloorServer } from './lib/floor';
import { HttpClient, describeAnswer } from './lib/http';
import {
  perSecond,
  runLoad,
  runOpenLoad,
  summarize,
  summarizeSpan,
  type LatencySummary,
  type LoadRun,
  type SecondPoint,
} from './harness/load';
import { Progress } from './lib/progress';
import { round } from './harness/percentiles';
import { writeJson } from './lib/results';
import {
  firstArrivalsShare,
  lastAnswerMs,
  waitingRoomFigures,
  saleFailures,
  salePaths,
  type PathFigures,
  type SalePaths,
} from './lib/sale-figures';
import {
  environment,
  errorList,
  phase,
  printErrors,
  reportFailures,
  type ScenarioContext,
  waitUntil,
} from './lib/scenario';
import { benchSku, pollUntil, Shop, throwOnErrors, type AddToCart, type Cart, type ProductView } from './lib/shop';
import { lineChartSvg } from './lib/svg-chart';
import { warmUp } from './lib/warm-up';

const resultsDir = path.join(import.meta.dirname, 'results');
export const targets = {
  ratioToFloor: 0.8,
  p99OverP50: 3,
  /** The held path's ops/s as a ratio to the floor's; its p99/p50 and the refusal path's are `p99OverP50`. */
  heldToFloor: 0.9,
  /** Refusing once sold out, in answers/s as a ratio to the floor's ops/s: no workflow is needed to say no. */
  refusedAfterSellOutToFloor: 20,
} as const;

const answered = (r: AddToCart) => r.holdStatus !== undefined;

export async function flashSale({ args, stack, signal }: ScenarioContext): Promise<number> {
  const { shoppers, units, concurrency, rate, ttlSeconds, admitPerSecond } = args;
  const load =
    rate === undefined ? `concurrency ${concurrency}` : `${rate} shoppers/s (at most ${concurrency} in flight)`;
  const shop = new Shop(new HttpClient(stack.apiUrl, concurrency), stack.opsToken);
  const floorAddress = stack.temporalAddress;
  const progress = new Progress(floorAddress ? 5 : 4, 'phases');
  let floorServer: FloorServer | undefined;
  let failed = true;
  try {
    const sku = benchSku('flash');
    await shop.createProduct(sku, units, 'strict', admitPerSecond);
    const room = admitPerSecond === undefined ? '' : `; a waiting room letting ${admitPerSecond}/s through`;
    phase(progress, `${sku}: ${units} units; ${shoppers} shoppers at ${load}; hold TTL ${ttlSeconds} s${room}`);

    // Carts are made first and not measured: the measured request is the add-to-cart alone.
    phase(progress, `creating ${shoppers} carts`);
    const carts = await shop.createCarts(shoppers, concurrency, progress, signal);

    let floor: LoadRun<number> | undefined;
    let floorCpu: Record<string, number> | undefined;
    // CPU per request by process, for both runs: on a shared machine, the ratio is a ratio of these totals.
    const stackPids = stack.child ? [stack.child.pid] : [];
    if (floorAddress) {
      phase(progress, 'floor: starting bench/lib/floor-server.ts (worker on task queue "floor", same Temporal server)');
      floorServer = await startFloorServer({
        temporalAddress: floorAddress,
        namespace: args.namespace,
        ttlSeconds,
        signal,
      });
      const measured = await measureFloor(
        floorServer.url,
        args.floorRequests,
        units,
        concurrency,
        [...stackPids, floorServer.child.pid],
        progress,
        signal,
      );
      floor = measured.run;
      floorCpu = measured.cpu;
    } else {
      phase(progress, 'floor: skipped (give --temporal with --api to measure it)');
    }

    phase(progress, `add-to-cart: ${concurrency} warm-up requests on a SKU of their own, then ${shoppers} on ${sku}`);
    await warmUp(shop, 'flash', concurrency, signal);
    const cpuBefore = await cpuSnapshot(stackPids);
    const options = {
      total: shoppers,
      send: (i: number) => shop.addToCart(carts[i]!, sku, `add-${i}`),
      signal,
      onProgress: progress.startCell(`add-to-cart (${shoppers})`, 'requests'),
    };
    // Open or closed, against the same floor: a closed loop's ops/s, the capacity the paths are held to.
    const sale =
      rate === undefined
        ? await runLoad({ ...options, concurrency })
        : await runOpenLoad({ ...options, rate, maxInFlight: concurrency });
    const saleCpu = cpuPerRequest(cpuBefore, await cpuSnapshot(stackPids), shoppers);
    progress.finishCell();
    signal.throwIfAborted();

    const outcome = analyseSale(sale, units, ttlSeconds);
    // Until the first hold lapses, the ledger must hold exactly what the shoppers were told they hold (the
    // product view's summary may be a second old, so it gets a few seconds to agree).
    const beforeExpiry = outcome.firstExpiry - Date.now() - 1000;
    const agreed = await pollUntil(
      () => shop.product(sku),
      (view) => view.reserved === outcome.held,
      {
        timeoutMs: Math.max(0, Math.min(5000, beforeExpiry)),
        signal,
      },
    );
    const afterSale = agreed.value;
    const reservedMatchesHolds = beforeExpiry > 3000 ? agreed.met : null;
    const invariantsAfterSale = await shop.invariants(sku);

    phase(progress, `checkout: ${Math.round(args.checkoutShare * 100)}% of the live holds pay with tok_visa`);
    const checkout = await checkOut(shop, carts, sale, args.checkoutShare, concurrency, progress, signal);

    const lastExpiry = Math.max(Date.now(), outcome.lastExpiry);
    phase(progress, `waiting until every hold has lapsed (${Math.ceil((lastExpiry - Date.now()) / 1000)} s)`);
    await waitUntil(lastExpiry + 1000, progress, 'holds lapsing (TTL)', signal);
    const settled = await settle(shop, sku, units, signal);
    progress.stop();
    const invariantsAfterTtl = await shop.invariants(sku);

    const addToCart = summarize(sale, answered);
    const floorSummary = floor ? summarize(floor, (status) => status === 200) : undefined;
    const ratioToFloor = floorSummary ? round(addToCart.opsPerSec / floorSummary.opsPerSec, 3) : null;
    const sold = settled.view.sold;
    const strandedAfterTtl = units - settled.view.available - sold;
    const oversold = Math.max(0, outcome.heldPeak - units);
    const p99OverP50 = round(addToCart.p99Ms / addToCart.p50Ms, 2);
    const paths = salePaths(sale, outcome.sellOutMs, floorSummary?.opsPerSec);
    // The floor's own held path: its first `units` requests, which hold, as the sale's first answers do. Beside
    // the floor's ops/s (mostly short runs that end at once), it is the held path's like-for-like: same place in
    // the run (the ramp from an idle server included), same concurrency, the same refusals in flight with it.
    const floorHeld = floor ? summarizeSpan(floor.results.filter((t) => t.index < units && t.result === 200)) : null;
    const heldToFloorHeld = paths.held && floorHeld ? round(paths.held.opsPerSec / floorHeld.opsPerSec, 3) : null;

    const { serverErrors, otherFailures: errors } = saleFailures(sale);
    const floorErrors = floor?.errors ?? new Tally();
    const timeline = {
      addToCart: perSecond(sale, answered),
      floor: floor ? perSecond(floor, (status) => status === 200) : [],
    };

    const result = {
      scenario: 'flash-sale',
      shoppers,
      units,
      concurrency,
      rate: rate ?? null,
      waitingRoom: admitPerSecond === undefined ? null : waitingRoomFigures(sale, admitPerSecond),
      addToCart: pick(addToCart, ['opsPerSec', 'p50Ms', 'p95Ms', 'p99Ms', 'maxMs', 'requests', 'elapsedMs']),
      floor: floorSummary
        ? pick(floorSummary, ['opsPerSec', 'p50Ms', 'p99Ms', 'p95Ms', 'maxMs', 'requests', 'elapsedMs'])
        : null,
      ratioToFloor,
      paths,
      floorHeld,
      heldToFloorHeld,
      lastAnswerMs: lastAnswerMs(sale),
      answers: sale.results.length,
      firstArrivals: firstArrivalsShare(sale, units),
      cpuMsPerRequest: { addToCart: saleCpu, floor: floorCpu ?? null },
      held: outcome.held,
      sold,
      oversold,
      strandedAfterTtl,
      sellOutMs: outcome.sellOutMs === null ? null : Math.round(outcome.sellOutMs),
      outOfStock: outcome.outOfStock,
      heldPeak: outcome.heldPeak,
      heldAfterFirstExpiry: outcome.heldAfterFirstExpiry,
      lastHoldMs: outcome.lastHoldMs === null ? null : Math.round(outcome.lastHoldMs),
      ttlSeconds,
      order: floorSummary ? ['floor', 'addToCart'] : ['addToCart'],
      targets: {
        ratioToFloor: {
          target: targets.ratioToFloor,
          value: ratioToFloor,
          met: ratioToFloor === null ? null : ratioToFloor >= targets.ratioToFloor,
        },
        p99OverP50: { target: targets.p99OverP50, value: p99OverP50, met: p99OverP50 <= targets.p99OverP50 },
        ...pathTargets(paths),
      },
      checks: {
        reservedAfterSale: afterSale.reserved,
        reservedMatchesHolds,
        invariantsAfterSale: { ok: invariantsAfterSale.ok, violations: invariantsAfterSale.violations },
        invariantsAfterTtl: {
          ok: invariantsAfterTtl.ok,
          openHolds: invariantsAfterTtl.openHolds,
          violations: invariantsAfterTtl.violations,
        },
        afterTtl: settled.view,
        settledWithinDeadline: settled.met,
        checkout,
      },
      errors: { addToCart: errorList(errors), addToCart5xx: errorList(serverErrors), floor: errorList(floorErrors) },
      timeline,
      environment: environment(),
      finishedAt: new Date().toISOString(),
    };
    await writeJson(path.join(resultsDir, 'flash-sale.json'), result);
    await writeFile(path.join(resultsDir, 'flash-sale.svg'), chart(result.scenario, timeline, shoppers, units, load));

    printSummary(result, addToCart, floorSummary);
    printPaths(result, shoppers);
    printErrors('add-to-cart answers (5xx)', serverErrors);
    printErrors('add-to-cart requests', errors);
    printErrors('floor requests', floorErrors);
    console.log(`wrote bench/results/flash-sale.json and bench/results/flash-sale.svg`);

    const exitCode = reportFailures([
      oversold > 0 && `${oversold} units oversold`,
      strandedAfterTtl !== 0 && `${strandedAfterTtl} units stranded after the TTL`,
      !invariantsAfterSale.ok && `invariants after the sale: ${invariantsAfterSale.violations.join('; ')}`,
      !invariantsAfterTtl.ok && `invariants after the TTL: ${invariantsAfterTtl.violations.join('; ')}`,
      reservedMatchesHolds === false && `reserved ${afterSale.reserved} != ${outcome.held} holds answered`,
      sold !== checkout.completed && `sold ${sold} != ${checkout.completed} completed orders`,
      serverErrors.total > 0 && `${serverErrors.total} add-to-cart answers were 5xx: ${messages(serverErrors)}`,
      errors.total > 0 && `${errors.total} add-to-cart requests failed`,
      floorErrors.total > 0 && `${floorErrors.total} floor requests failed`,
      !settled.met && 'the product view did not settle after the TTL',
    ]);
    failed = false;
    return exitCode;
  } finally {
    progress.stop();
    await floorServer?.stop(failed && !signal.aborted);
    await shop.http.close();
  }
}

async function measureFloor(
  url: string,
  shoppers: number,
  units: number,
  concurrency: number,
  cpuRoots: number[],
  progress: Progress,
  signal: AbortSignal,
): Promise<{ run: LoadRun<number>; cpu: Record<string, number> }> {
  const http = new HttpClient(url, concurrency);
  const tag = randomBytes(4).toString('hex');
  // As in the sale: the first `units` shoppers keep a hold (a timer), the rest are refused (the run ends).
  const send = async (key: string, hold: boolean) => {
    const answer = await http.request('POST', '/floor', { body: { key, hold } });
    if (answer.status !== 200) throw new Error(`floor: ${describeAnswer(answer)}`);
    return answer.status;
  };
  try {
    phase(progress, `floor: ${concurrency} warm-up requests, then ${shoppers}`);
    const warm = await runLoad({ total: concurrency, concurrency, send: (i) => send(`${tag}-w${i}`, true), signal });
    throwOnErrors('floor warm-up', warm);
    const before = await cpuSnapshot(cpuRoots);
    const run = await runLoad({
      total: shoppers,
      concurrency,
      send: (i) => send(`${tag}-${i}`, i < units),
      signal,
      onProgress: progress.startCell(`floor (${shoppers})`, 'requests'),
    });
    const cpu = cpuPerRequest(before, await cpuSnapshot(cpuRoots), shoppers);
    progress.finishCell();
    signal.throwIfAborted();
    return { run, cpu };
  } finally {
    await http.close();
  }
}

interface HeldLine {
  readonly index: number;
  /** Epoch ms, by the server's clock (the same machine's). */
  readonly expiresAt: number;
  /** When the shopper got the answer, ms since the run started. */
  readonly endMs: number;
}

/**
 * Holds granted, and the most that were live at once. A hold occupies its unit at least over
 * [expiresAt - TTL, expiresAt): the workflow sets expiresAt = its clock after the reservation + TTL, and releases
 * only after expiresAt. A unit released by a lapsed hold is taken again only after that, so with no overselling
 * those intervals never stack above the units; when the run outlasts the TTL, `held` may exceed the units.
 */
function analyseSale(run: LoadRun<AddToCart>, units: number, ttlSeconds: number) {
  const holds: HeldLine[] = [];
  let outOfStock = 0;
  for (const t of run.results) {
    if (t.result.holdStatus === 'held' && t.result.expiresAt) {
      holds.push({ index: t.index, expiresAt: Date.parse(t.result.expiresAt), endMs: t.endMs });
    } else if (t.result.holdStatus === 'out_of_stock') outOfStock++;
  }
  const ttlMs = ttlSeconds * 1000;
  const events = holds.flatMap((h) => [
    [h.expiresAt - ttlMs, 1],
    [h.expiresAt, -1],
  ]);
  // At the same instant a lapse comes before a take.
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let live = 0;
  let heldPeak = 0;
  for (const [, delta] of events) heldPeak = Math.max(heldPeak, (live += delta!));

  let firstExpiry = Infinity;
  let lastExpiry = -Infinity;
  let lastHoldMs: number | null = null;
  // Loops, not Math.min(...spread): a spread of a long run's holds could overflow the stack.
  for (const h of holds) {
    firstExpiry = Math.min(firstExpiry, h.expiresAt);
    lastExpiry = Math.max(lastExpiry, h.expiresAt);
    lastHoldMs = Math.max(lastHoldMs ?? 0, h.endMs);
  }
  const firstWave = holds.filter((h) => run.startedAt + h.endMs < firstExpiry).sort((a, b) => a.endMs - b.endMs);
  return {
    holds,
    held: holds.length,
    outOfStock,
    heldPeak,
    firstExpiry,
    lastExpiry,
    heldAfterFirstExpiry: holds.length - firstWave.length,
    // The units sold out when the last of them was held, before any hold lapsed and gave one back.
    sellOutMs: firstWave.length >= units ? firstWave[units - 1]!.endMs : null,
    lastHoldMs,
  };
}

export interface CheckoutOutcome {
  readonly attempted: number;
  readonly completed: number;
  readonly failed: number;
  readonly pending: number;
  readonly failures: { message: string; count: number }[];
}

/** Checks out a share of the carts whose hold is live (the latest first) and waits for their orders. */
async function checkOut(
  shop: Shop,
  carts: readonly Cart[],
  sale: LoadRun<AddToCart>,
  share: number,
  concurrency: number,
  progress: Progress,
  signal: AbortSignal,
): Promise<CheckoutOutcome> {
  // A lock needs a moment: a hold about to lapse is left alone.
  const live = sale.results
    .filter((t) => t.result.holdStatus === 'held' && Date.parse(t.result.expiresAt!) > Date.now() + 5000)
    .sort((a, b) => Date.parse(b.result.expiresAt!) - Date.parse(a.result.expiresAt!));
  const chosen = live.slice(0, Math.round(live.length * share)).map((t) => carts[t.index]!);
  const update = progress.startCell(`checkout (${chosen.length})`, 'orders');
  const started = await runLoad({
    total: chosen.length,
    concurrency,
    send: async (i) => ({ cart: chosen[i]!, orderId: (await shop.checkout(chosen[i]!, `checkout-${i}`)).orderId }),
    signal,
  });
  throwOnErrors('starting checkouts', started);
  const failures = new Tally();
  let completed = 0;
  let failed = 0;
  let pending = started.results.map((t) => t.result);
  const deadline = Date.now() + 120_000;
  while (pending.length > 0 && Date.now() < deadline) {
    signal.throwIfAborted();
    const polled = await runLoad({
      total: pending.length,
      concurrency,
      send: async (i) => ({ ...pending[i]!, order: await shop.order(pending[i]!.cart, pending[i]!.orderId) }),
      signal,
    });
    throwOnErrors('polling orders', polled);
    const still: typeof pending = [];
    for (const { result } of polled.results) {
      if (result.order.status === 'completed') completed++;
      else if (result.order.status === 'failed') {
        failed++;
        failures.add(`order failed: ${result.order.reason ?? 'no reason'}`);
      } else still.push(result);
    }
    pending = still;
    update((completed + failed) / Math.max(1, chosen.length), completed + failed);
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 500));
  }
  progress.finishCell();
  return { attempted: chosen.length, completed, failed, pending: pending.length, failures: errorList(failures) };
}

/** Polls the product view after the TTL until nothing is reserved and the counts stop changing. */
async function settle(shop: Shop, sku: string, units: number, signal: AbortSignal) {
  let previous = '';
  let same = 0;
  const { value, met } = await pollUntil(
    () => shop.product(sku),
    (view: ProductView) => {
      const key = `${view.available}/${view.reserved}/${view.sold}`;
      same = key === previous ? same + 1 : 0;
      previous = key;
      return view.reserved === 0 && view.available + view.sold === units ? same >= 1 : same >= 5;
    },
    { timeoutMs: 90_000, everyMs: 1000, signal },
  );
  const { available, reserved, sold, backordered } = value;
  return { view: { available, reserved, sold, backordered }, met };
}

interface Target {
  readonly target: number;
  readonly value: number | null;
  readonly met: boolean | null;
}

const atLeast = (target: number, value: number | null): Target => ({
  target,
  value,
  met: value === null ? null : value >= target,
});
const atMost = (target: number, value: number | null): Target => ({
  target,
  value,
  met: value === null ? null : value <= target,
});

/** Each path's targets: its throughput against the floor, and p99 within `p99OverP50` x its p50. */
function pathTargets(paths: SalePaths) {
  return {
    heldToFloor: atLeast(targets.heldToFloor, paths.held?.toFloor ?? null),
    heldP99OverP50: atMost(targets.p99OverP50, paths.held?.p99OverP50 ?? null),
    refusedP99OverP50: atMost(targets.p99OverP50, paths.refused?.p99OverP50 ?? null),
    refusedAfterSellOutToFloor: atLeast(targets.refusedAfterSellOutToFloor, paths.refusedAfterSellOut?.toFloor ?? null),
  };
}

function messages(tally: Tally): string {
  return tally
    .entries()
    .map(([message]) => message)
    .join('; ');
}

function mark(met: boolean | null): string {
  return met === null ? 'n/a' : met ? 'met' : 'MISSED';
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, obj[k]])) as Pick<T, K>;
}

function chart(
  title: string,
  timeline: { addToCart: SecondPoint[]; floor: SecondPoint[] },
  shoppers: number,
  units: number,
  load: string,
): string {
  const ours = '#1f77b4';
  const floor = '#8c8c8c';
  const at = (points: SecondPoint[], y: (p: SecondPoint) => number | null) =>
    points.map((p) => [p.second + 0.5, y(p)] as const);
  const hasFloor = timeline.floor.length > 0;
  return lineChartSvg({
    title: `${title}: ${shoppers} shoppers, ${units} units, ${load}`,
    xLabel: 'seconds since the run started',
    panels: [
      {
        title: 'Throughput (requests answered per second)',
        yLabel: 'requests / s',
        series: [
          { name: 'add-to-cart', color: ours, points: at(timeline.addToCart, (p) => p.ops) },
          ...(hasFloor ? [{ name: 'floor', color: floor, points: at(timeline.floor, (p) => p.ops) }] : []),
        ],
      },
      {
        title: 'Latency of the requests answered in each second',
        yLabel: 'ms',
        series: [
          { name: 'add-to-cart p50', color: ours, points: at(timeline.addToCart, (p) => p.p50Ms) },
          { name: 'add-to-cart p99', color: ours, dashed: true, points: at(timeline.addToCart, (p) => p.p99Ms) },
          ...(hasFloor
            ? [
                { name: 'floor p50', color: floor, points: at(timeline.floor, (p) => p.p50Ms) },
                { name: 'floor p99', color: floor, dashed: true, points: at(timeline.floor, (p) => p.p99Ms) },
              ]
            : []),
        ],
      },
    ],
  });
}

function printSummary(
  result: {
    held: number;
    sold: number;
    oversold: number;
    strandedAfterTtl: number;
    sellOutMs: number | null;
    outOfStock: number;
    heldPeak: number;
    heldAfterFirstExpiry: number;
    ratioToFloor: number | null;
    cpuMsPerRequest: { addToCart: Record<string, number>; floor: Record<string, number> | null };
    targets: { ratioToFloor: { met: boolean | null }; p99OverP50: { value: number; met: boolean } };
    order: string[];
  },
  ours: LatencySummary,
  floor: LatencySummary | undefined,
): void {
  const row = (s: LatencySummary) => ({
    'ops/s': s.opsPerSec,
    'p50 ms': s.p50Ms,
    'p95 ms': s.p95Ms,
    'p99 ms': s.p99Ms,
    'max ms': s.maxMs,
    requests: s.requests,
    's elapsed': round(s.elapsedMs / 1000, 1),
  });
  console.log('');
  console.table({ 'add-to-cart': row(ours), ...(floor ? { 'floor (ran first)': row(floor) } : {}) });
  const cpu = result.cpuMsPerRequest;
  if (Object.keys(cpu.addToCart).length > 1) {
    console.log('CPU ms per request, by process (user + system):');
    console.table({ 'add-to-cart': cpu.addToCart, ...(cpu.floor ? { floor: cpu.floor } : {}) });
  }
  console.table({
    held: result.held,
    'held at once (peak)': result.heldPeak,
    'held again after a hold lapsed': result.heldAfterFirstExpiry,
    'out of stock': result.outOfStock,
    sold: result.sold,
    oversold: result.oversold,
    'stranded after TTL': result.strandedAfterTtl,
    'sell-out ms': result.sellOutMs ?? 'not sold out',
  });
  if (result.ratioToFloor !== null) {
    console.log(
      `add-to-cart / floor: ${result.ratioToFloor.toFixed(2)}x ops/s (target >= ${targets.ratioToFloor}: ${mark(result.targets.ratioToFloor.met)}; order: ${result.order.join(', ')})`,
    );
  }
  console.log(
    `add-to-cart p99 / p50: ${result.targets.p99OverP50.value.toFixed(2)} (target <= ${targets.p99OverP50}: ${mark(result.targets.p99OverP50.met)})`,
  );
  if (result.heldAfterFirstExpiry > 0) {
    console.log(
      `note: the run outlasted the TTL: ${result.heldAfterFirstExpiry} holds took units that lapsed holds gave back (give --ttl above the run's length for a pure sell-out)`,
    );
  }
}

/** The held and the refusal path apart, against their targets; when the last shopper was answered; fairness. */
function printPaths(
  result: {
    units: number;
    concurrency: number;
    rate: number | null;
    paths: SalePaths;
    heldToFloorHeld: number | null;
    lastAnswerMs: number | null;
    answers: number;
    firstArrivals: { arrivals: number; held: number; share: number };
    waitingRoom: ReturnType<typeof waitingRoomFigures> | null;
    targets: ReturnType<typeof pathTargets>;
  },
  shoppers: number,
): void {
  const row = (p: PathFigures | null) =>
    p
      ? {
          answers: p.answers,
          'ops/s': p.opsPerSec,
          'x floor': p.toFloor ?? 'n/a',
          'p50 ms': p.p50Ms,
          'p95 ms': p.p95Ms,
          'p99 ms': p.p99Ms,
          'p99/p50': p.p99OverP50,
          's span': round(p.spanMs / 1000, 1),
        }
      : { answers: 0 };
  const { paths, targets: t } = result;
  console.table({
    held: row(paths.held),
    'out of stock': row(paths.refused),
    'out of stock, sent after sell-out': row(paths.refusedAfterSellOut),
  });
  const value = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  console.log(
    [
      `held path ops/s / floor: ${value(t.heldToFloor.value)}x (target >= ${targets.heldToFloor}: ${mark(t.heldToFloor.met)})`,
      `held path ops/s / the floor's own held path (its first ${result.units} requests): ${value(result.heldToFloorHeld)}x`,
      `held path p99 / p50: ${value(t.heldP99OverP50.value)} (target <= ${targets.p99OverP50}: ${mark(t.heldP99OverP50.met)})`,
      `refusal path p99 / p50: ${value(t.refusedP99OverP50.value)} (target <= ${targets.p99OverP50}: ${mark(t.refusedP99OverP50.met)})`,
      `refusals after sell-out: ${paths.refusedAfterSellOut?.opsPerSec ?? 'n/a'} answers/s, ${value(t.refusedAfterSellOutToFloor.value)}x the floor (target >= ${targets.refusedAfterSellOutToFloor}: ${mark(t.refusedAfterSellOutToFloor.met)})`,
    ].join('\n'),
  );
  const last = result.lastAnswerMs === null ? 'n/a' : `${round(result.lastAnswerMs / 1000, 1)} s`;
  console.log(
    result.answers === shoppers
      ? `every shopper had an answer ${last} after the start`
      : `${shoppers - result.answers} shoppers got no answer (the request failed); the last answer came ${last} after the start`,
  );
  const f = result.firstArrivals;
  console.log(`the first ${f.arrivals} arrivals got ${f.held} of ${result.units} units (${round(f.share * 100, 1)} %)`);
  const w = result.waitingRoom;
  if (w) {
    console.log(
      `waiting room (${w.admitPerSecond}/s): ${w.queuedShoppers} shoppers queued, ${w.asksAgain} asks again (at most ${w.maxAsksAgain} by one shopper)`,
    );
  }
  if (result.rate !== null) {
    console.log(
      `note: add-to-cart ran an open loop at ${result.rate} shoppers/s, the floor a closed loop of ${result.concurrency}: no path's ops/s can pass the rate`,
    );
  }
}
