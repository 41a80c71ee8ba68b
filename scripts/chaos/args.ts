import { parseArgs } from 'node:util';

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
  /** Seconds between faults from the start of the load; by default they come at 1/4, 2/4, 3/4 of the shoppers. */
  readonly faultIntervalSeconds: number | undefined;
  /** New shoppers stop arriving after this many seconds; those shopping finish. */
  readonly maxLoadSeconds: number;
  /** How long, after the load, orders may take to finish and the system to go quiet. */
  readonly settleSeconds: number;
  readonly seed: number;
  readonly keep: boolean;
}

export const usage = `Usage: npm run chaos -- [options]
  --short                 CI size: 60 shoppers, 2 SKUs, TTL 10 s (under 3 minutes), the same three faults
  --shoppers <n>          shoppers (default 300; --short 60)
  --concurrency <n>       shoppers at once (default 16; --short 12)
  --skus <n>              strict SKUs on sale (default 3; --short 2); one backorder SKU besides, with
                          units / 6 units at the start and six restocks of shoppers / 45 units by ops
  --units <n>             units of each strict SKU (default shoppers / 5)
  --ttl <s>               HOLD_TTL_SECONDS (default 20; --short 10)
  --fault-interval <s>    seconds between the faults, from the start of the load (default: the faults come
                          when a quarter, half and three quarters of the shoppers have started)
  --max-load <s>          no new shopper after this (default 600; --short 120)
  --settle <s>            after the load, how long orders may take to finish and the system to go quiet
                          (default 240; --short 120)
  --seed <n>              seed of the shoppers' choices (default: random, printed)
  --keep                  keep the data directory and logs even when the run passes`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseChaosArgs(argv: string[]): ChaosArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
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
    }));
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
  const short = values.short;
  const int = (flag: string, value: string | undefined, fallback: number) =>
    value === undefined ? fallback : positiveInt(flag, value);
  const shoppers = int('--shoppers', values.shoppers, short ? 60 : 300);
  const units = int('--units', values.units, Math.max(5, Math.round(shoppers / 5)));
  return {
    help: values.help,
    short,
    shoppers,
    concurrency: int('--concurrency', values.concurrency, short ? 12 : 16),
    skus: int('--skus', values.skus, short ? 2 : 3),
    units,
    backorderUnits: Math.max(1, Math.round(units / 6)),
    restockUnits: Math.max(1, Math.round(shoppers / 45)),
    ttlSeconds: int('--ttl', values.ttl, short ? 10 : 20),
    faultIntervalSeconds:
      values['fault-interval'] === undefined ? undefined : positiveInt('--fault-interval', values['fault-interval']),
    maxLoadSeconds: int('--max-load', values['max-load'], short ? 120 : 600),
    settleSeconds: int('--settle', values.settle, short ? 120 : 240),
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positiveInt('--seed', values.seed),
    keep: values.keep,
  };
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} wants a positive integer, got ${value}`);
  return n;
}
