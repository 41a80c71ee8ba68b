import { parseFlags, positive, UsageError } from '../harness/args';

export const scenarioNames = ['flash-sale', 'backorder', 'holds-rss'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** A stack the bench did not start: `--api` with its ops token (and Temporal, for the floor). */
export interface ExternalStack {
  readonly apiUrl: string;
  readonly opsToken: string;
  readonly temporalAddress: string | undefined;
}

export interface ScenarioArgs {
  readonly help: boolean;
  readonly scenario: ScenarioName;
  readonly shoppers: number;
  readonly units: number;
  readonly concurrency: number;
  /**
   * Flash sale: add-to-cart arrivals per second, an open loop (at most `concurrency` in flight); undefined: a closed
   * loop of `concurrency` shoppers.
   */
  readonly rate: number | undefined;
  /** Flash sale: the drop's waiting room lets this many shoppers a second through; undefined: no waiting room. */
  readonly admitPerSecond: number | undefined;
  /** Flash sale: requests of the Temporal floor (its ops/s needs no more than a few thousand). */
  readonly floorRequests: number;
  /** The stack's HOLD_TTL_SECONDS. */
  readonly ttlSeconds: number;
  /** Flash sale: the share of held carts that check out. */
  readonly checkoutShare: number;
  /** Backorder: restocks in this many waves. */
  readonly waves: number;
  /** Holds RSS: live holds to make. */
  readonly holds: number;
  readonly namespace: string;
  readonly external: ExternalStack | undefined;
}

export const scenarioUsage = `Usage: npm run bench -- --scenario <name> [options]
  --scenario <name>      flash-sale (default), backorder or holds-rss
  --shoppers <n>         shoppers, one add-to-cart each (default 5000)
  --units <n>            units of the SKU (flash-sale: 100; backorder: restocked units, 1000;
                         holds-rss: 2 x --holds)
  --concurrency <n>      HTTP connections and requests in flight (default 64)
  --floor <n>            flash-sale: requests of the Temporal floor (default: --shoppers, at most 5000)
  --rate <shoppers/s>    flash-sale: add-to-cart requests arrive at this rate (an open loop, latency
                         from each one's intended send time) instead of --concurrency closed loops
  --admit-per-second <n> flash-sale: the SKU has a waiting room letting n shoppers a second through;
                         a queued shopper asks again after Retry-After, and its latency includes the wait
  --ttl <seconds>        HOLD_TTL_SECONDS of the stack the bench starts (flash-sale: 30; others: 3600)
  --checkout <share>     flash-sale: share of held carts that check out with tok_visa (default 0.2)
  --waves <n>            backorder: restock waves (default 5)
  --holds <n>            holds-rss: live holds (default 10000)
  --api <url>            use this running stack instead of starting one; needs --ops-token, and
  --ops-token <token>    --temporal <host:port> for the flash sale's floor (and --ttl set to the
  --temporal <address>   stack's HOLD_TTL_SECONDS)
  --namespace <name>     Temporal namespace (default: default)`;

export function parseScenarioArgs(argv: string[]): ScenarioArgs {
  const values = parseFlags(
    argv,
    {
      scenario: { type: 'string', default: 'flash-sale' },
      shoppers: { type: 'string', default: '5000' },
      floor: { type: 'string' },
      units: { type: 'string' },
      concurrency: { type: 'string', default: '64' },
      rate: { type: 'string' },
      'admit-per-second': { type: 'string' },
      ttl: { type: 'string' },
      checkout: { type: 'string', default: '0.2' },
      waves: { type: 'string', default: '5' },
      holds: { type: 'string', default: '10000' },
      api: { type: 'string' },
      'ops-token': { type: 'string' },
      temporal: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    scenarioUsage,
  );
  if (!(scenarioNames as readonly string[]).includes(values.scenario)) {
    throw new UsageError(`unknown scenario ${values.scenario}\n${scenarioUsage}`);
  }
  const scenario = values.scenario as ScenarioName;
  const holds = positive('--holds', values.holds);
  const defaultUnits = { 'flash-sale': 100, backorder: 1000, 'holds-rss': 2 * holds }[scenario];
  const checkoutShare = Number(values.checkout);
  if (!(checkoutShare >= 0 && checkoutShare <= 1)) {
    throw new UsageError(`--checkout wants a share from 0 to 1, got ${JSON.stringify(values.checkout)}`);
  }
  for (const flag of ['rate', 'admit-per-second'] as const) {
    if (values[flag] !== undefined && scenario !== 'flash-sale') {
      throw new UsageError(`--${flag} is for the flash-sale scenario\n${scenarioUsage}`);
    }
  }
  if (values.api !== undefined && values['ops-token'] === undefined) {
    throw new UsageError('--api needs --ops-token');
  }
  const shoppers = positive('--shoppers', values.shoppers);
  return {
    help: values.help,
    scenario,
    shoppers,
    units: values.units === undefined ? defaultUnits : positive('--units', values.units),
    concurrency: positive('--concurrency', values.concurrency),
    rate: values.rate === undefined ? undefined : positive('--rate', values.rate, false),
    admitPerSecond:
      values['admit-per-second'] === undefined ? undefined : positive('--admit-per-second', values['admit-per-second']),
    floorRequests: values.floor === undefined ? Math.min(shoppers, 5000) : positive('--floor', values.floor),
    ttlSeconds: values.ttl === undefined ? (scenario === 'flash-sale' ? 30 : 3600) : positive('--ttl', values.ttl),
    checkoutShare,
    waves: positive('--waves', values.waves),
    holds,
    namespace: values.namespace,
    external:
      values.api === undefined
        ? undefined
        : {
            apiUrl: values.api.replace(/\/+$/, ''),
            opsToken: values['ops-token']!,
            temporalAddress: values.temporal,
          },
  };
}
