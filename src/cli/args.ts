import { parseArgs } from 'node:util';

/** Bad usage: main prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A command that could not do its work (not an API error): main prints `error: <code>: <message>` and exits 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Every option of every command, parsed in one pass; each command lists the ones it accepts. */
export const optionSpecs = {
  api: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  sku: { type: 'string' },
  name: { type: 'string' },
  'price-cents': { type: 'string' },
  quantity: { type: 'string' },
  policy: { type: 'string' },
  buckets: { type: 'string' },
  'low-stock': { type: 'string' },
  'admit-per-second': { type: 'string' },
  reorder: { type: 'string' },
  'max-per-customer': { type: 'string' },
  'offer-seconds': { type: 'string' },
  reason: { type: 'string' },
  events: { type: 'string' },
  secret: { type: 'string' },
  'max-age': { type: 'string' },
  'idempotency-key': { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
} as const;

export type OptionName = keyof typeof optionSpecs;
export type Options = ReturnType<typeof parseCommandLine>['values'];

/** Options every command takes. */
export const globalOptions: readonly OptionName[] = ['api', 'token', 'json', 'help'];

export function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: optionSpecs, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' first sentence names the offending option ("Unknown option '--foo'"); the rest is a lecture.
    throw new UsageError((err instanceof Error ? err.message : String(err)).split('. ')[0]!);
  }
}

/** A whole number written in decimal digits only, so "1e3", "0x10" and "-1" are usage errors, not surprises. */
export function wholeNumber(value: string, what: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new UsageError(`${what} must be a whole number, got "${value}"`);
  return Number(value);
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${what} must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

export function required(options: Options, name: OptionName): string {
  const value = options[name];
  if (typeof value !== 'string') throw new UsageError(`--${name} is required`);
  return value;
}
