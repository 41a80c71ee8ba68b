import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line flags: the message ends with the usage text. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Flags = NonNullable<ParseArgsConfig['options']>;

/** node:util's parseArgs of `argv` by `options`, a UsageError with `usage` when it fails. */
export function parseFlags<O extends Flags>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
}

/** A flag's value as a positive number (an integer unless `integer` is false). */
export function positive(flag: string, value: string, integer = true): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
    throw new UsageError(`${flag} wants a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** An optional flag's value as a positive integer, or `fallback` when it was not given. */
export function positiveOr(flag: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : positive(flag, value);
}
