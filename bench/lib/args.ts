import { parseArgs } from 'node:util';
import type { Until } from './clients';
import { variantNames, type VariantName } from './variants';

export interface BenchArgs {
  readonly help: boolean;
  readonly variants: readonly VariantName[];
  readonly concurrency: readonly number[];
  /** How long each throughput cell runs. */
  readonly until: Until;
}

export const usage = `Usage: npm run bench:stock -- [options]
  --variants <list>     comma-separated, from ${variantNames.join(', ')} (default: all)
  --concurrency <list>  clients per cell, comma-separated (default: 1,8,32,64)
  --seconds <n>         measure each throughput cell for n seconds (default: 5)
  --ops <n>             or: measure each throughput cell for n reservations
  MONGODB_URI=uri1,uri2 measures those servers instead of starting two FerretDB shards`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        variants: { type: 'string', default: variantNames.join(',') },
        concurrency: { type: 'string', default: '1,8,32,64' },
        seconds: { type: 'string' },
        ops: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
  if (values.seconds !== undefined && values.ops !== undefined)
    throw new UsageError('give --seconds or --ops, not both');
  const variants = list(values.variants).map((v) => {
    if (!(variantNames as readonly string[]).includes(v)) throw new UsageError(`unknown variant ${v}\n${usage}`);
    return v as VariantName;
  });
  const concurrency = list(values.concurrency).map((c) => positive('--concurrency', c, true));
  const until: Until =
    values.ops !== undefined
      ? { ops: positive('--ops', values.ops, true) }
      : { seconds: positive('--seconds', values.seconds ?? '5') };
  return { help: values.help, variants: [...new Set(variants)], concurrency: [...new Set(concurrency)], until };
}

function list(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`empty list\n${usage}`);
  return items;
}

function positive(flag: string, value: string, integer = false): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
    throw new UsageError(`${flag} wants a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  }
  return n;
}
