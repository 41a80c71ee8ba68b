import { parseFlags, positive, UsageError } from '../harness/args';
import type { Until } from './share';
import { isVariantName, variantNames, type VariantName } from './variants';

export interface BenchArgs {
  readonly help: boolean;
  readonly variants: readonly VariantName[];
  readonly concurrency: readonly number[];
  /** How long each throughput cell runs. */
  readonly until: Until;
  /** --processes: every cell's client processes; undefined: the default rule (processesFor). */
  readonly processes: number | undefined;
}

/** From this many clients a cell's clients are spread over `defaultProcesses` processes by default. */
const manyClients = 64;
const defaultProcesses = 4;

/** The rule that set each cell's processes, for the report. */
export function processRule(args: BenchArgs): string {
  return args.processes === undefined
    ? `${defaultProcesses} processes for cells of ${manyClients} clients or more, 1 below`
    : `${args.processes} processes per cell (no more than its clients)`;
}

/** OS processes a cell's clients run in (1: the bench's own): never more than there are clients. */
export function processesFor(clients: number, args: BenchArgs): number {
  const wanted = args.processes ?? (clients >= manyClients ? defaultProcesses : 1);
  return Math.min(wanted, clients);
}

export const usage = `Usage: npm run bench:stock -- [options]
  --variants <list>     comma-separated, from ${variantNames.join(', ')} (default: all)
  --concurrency <list>  clients per cell, comma-separated (default: 1,8,32,64)
  --processes <n>       spread each cell's clients over n OS processes, each with its own connections and caches
                        (default: ${defaultProcesses} for cells of ${manyClients} clients or more, 1 below; never more than the
                        cell's clients; 1 runs them in the bench's own process)
  --seconds <n>         measure each throughput cell for n seconds (default: 5)
  --ops <n>             or: measure each throughput cell for n reservations
  MONGODB_URI=uri1,uri2 measures those servers instead of starting two FerretDB shards

raw-insert is one plain insert per attempt into the same ledger collections over the same shards, of a
document shaped like a ledger entry: the store's write limit, which every row's "× raw-insert" is a ratio to
(at the same clients, in the same run). It sells no stock, so it has no sell-out race: its oversold is "–".`;

export function parseBenchArgs(argv: string[]): BenchArgs {
  const values = parseFlags(
    argv,
    {
      variants: { type: 'string', default: variantNames.join(',') },
      concurrency: { type: 'string', default: '1,8,32,64' },
      processes: { type: 'string' },
      seconds: { type: 'string' },
      ops: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    usage,
  );
  if (values.seconds !== undefined && values.ops !== undefined)
    throw new UsageError('give --seconds or --ops, not both');
  const variants = list(values.variants).map((v) => {
    if (!isVariantName(v)) throw new UsageError(`unknown variant ${v}\n${usage}`);
    return v;
  });
  const concurrency = list(values.concurrency).map((c) => positive('--concurrency', c));
  const until: Until =
    values.ops !== undefined
      ? { ops: positive('--ops', values.ops) }
      : { seconds: positive('--seconds', values.seconds ?? '5', false) };
  return {
    help: values.help,
    variants: [...new Set(variants)],
    concurrency: [...new Set(concurrency)],
    until,
    processes: values.processes === undefined ? undefined : positive('--processes', values.processes),
  };
}

function list(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`empty list\n${usage}`);
  return items;
}
