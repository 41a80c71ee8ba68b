import { parseFlags, positive, positiveOr } from '../../bench/harness/args';

export interface ChaosArgs {
  readonly help: boolean;
  readonly short: boolean;
  readonly shoppers: number;
  readonly concurrency: number;
  readonly skus: number;
  /** Units of each strict SKU: fewer than the shoppers want, so the SKUs sell out and expiries put stock back. */
  readonly units: number;
  /** Units of the backorder SKU at the start: few, so most who want it are backordered. */
  readonly backorderUnits: number;
  /** Units of each of the six restocks ops send the backorder SKU during the load. */
  readonly restockUnits: number;
  readonly ttlSeconds: number;
  /** Seconds between faults from the start of the load; by default they are spread evenly over the shoppers started. */
  readonly faultIntervalSeconds: number | undefined;
  /** New shoppers stop arriving after this many seconds; those shopping finish. */
  readonly maxLoadSeconds: number;
  /** How long, after the load, orders may take to finish and the system to go quiet. */
  readonly settleSeconds: number;
  readonly seed: number;
  readonly keep: boolean;
}

export const usage = `Usage: npm run chaos -- [options]
  --short                 CI size: 60 shoppers, 2 SKUs, TTL 10 s (under 4 minutes), the same seven faults
  --shoppers <n>          shoppers (default 300; --short 60)
  --concurrency <n>       shoppers at once (default 16; --short 12)
  --skus <n>              strict SKUs on sale (default 3; --short 2); one backorder SKU besides, with
                          units / 6 units at the start and six restocks of shoppers / 45 units by ops
  --units <n>             units of each strict SKU (default shoppers / 5)
  --ttl <s>               HOLD_TTL_SECONDS (default 20; --short 10)
  --fault-interval <s>    seconds between the faults, from the start of the load (default: the seven faults
                          are spread evenly over the shoppers started)
  --max-load <s>          no new shopper after this (default 600; --short 120)
  --settle <s>            after the load, how long orders may take to finish and the system to go quiet
                          (default 240; --short 120)
  --seed <n>              seed of the shoppers' choices (default: random, printed)
  --keep                  keep the data directory and logs even when the run passes`;

export function parseChaosArgs(argv: string[]): ChaosArgs {
  const values = parseFlags(
    argv,
    {
      short: { type: 'boolean', default: false },
      shoppers: { type: 'string' },
      concurrency: { type: 'string' },
      skus: { type: 'string' },
      units: { type: 'string' },
      ttl: { type: 'string' },
      'fault-interval': { type: 'string' },
      'max-load': { type: 'string' },
      settle: { type: 'string' },
      seed: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    usage,
  );
  const short = values.short;
  const shoppers = positiveOr('--shoppers', values.shoppers, short ? 60 : 300);
  const units = positiveOr('--units', values.units, Math.max(5, Math.round(shoppers / 5)));
  return {
    help: values.help,
    short,
    shoppers,
    concurrency: positiveOr('--concurrency', values.concurrency, short ? 12 : 16),
    skus: positiveOr('--skus', values.skus, short ? 2 : 3),
    units,
    backorderUnits: Math.max(1, Math.round(units / 6)),
    restockUnits: Math.max(1, Math.round(shoppers / 45)),
    ttlSeconds: positiveOr('--ttl', values.ttl, short ? 10 : 20),
    faultIntervalSeconds:
      values['fault-interval'] === undefined ? undefined : positive('--fault-interval', values['fault-interval']),
    maxLoadSeconds: positiveOr('--max-load', values['max-load'], short ? 120 : 600),
    settleSeconds: positiveOr('--settle', values.settle, short ? 120 : 240),
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positive('--seed', values.seed),
    keep: values.keep,
  };
}
