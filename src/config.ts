import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/** Every setting holdfast reads, with its default. The README's configuration table mirrors this schema. */
export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOLDFAST_HOME: z.string().default('.holdfast'),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('holdfast'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_UI_URL: optionalString,

  MONGODB_URI: optionalString,
  FERRETDB_SHARDS: positiveInt.max(16).default(2),
  FERRETDB_BASE_PORT: port.default(27017),
  STOCK_DB: z.string().default('holdfast_stock'),
  CARTS_DB: z.string().default('holdfast_carts'),

  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(3000),
  HOLDFAST_OPS_TOKEN: optionalString,

  HOLDFAST_TOKEN_SECRET: optionalString,

  /**
   * Workflow runs a worker keeps in memory. Idle holds past it are evicted and replayed from their short
   * histories when they next wake; it bounds worker memory (about 0.1-0.2 MB per cached run).
   */
  WORKER_MAX_CACHED_WORKFLOWS: positiveInt.default(1000),

  HOLD_TTL_SECONDS: positiveInt.default(900),
  MAX_HOLD_SECONDS: positiveInt.default(3600),
  MAX_LINE_QUANTITY: positiveInt.max(10_000).default(100),
  RATE_LIMIT_CART_PER_MINUTE: positiveInt.default(120),
  RATE_LIMIT_IP_PER_MINUTE: positiveInt.default(1200),
  BODY_LIMIT_BYTES: positiveInt.default(16_384),

  PATH: z.string().default(''),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config extends RawConfig {
  /** Absolute path of HOLDFAST_HOME: binaries, virtualenv and server data live here. */
  readonly home: string;
  /** MONGODB_URI split on commas: one URI per shard. Empty when FerretDB is embedded. */
  readonly mongoUris: readonly string[];
  /** The ops bearer token; generated in development when none is configured. */
  readonly opsToken: string;
  readonly opsTokenGenerated: boolean;
  /** Signs shoppers' cart tokens; generated per process in development when none is configured. */
  readonly tokenSecret: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Readonly<Config> {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const raw = parsed.data;
  const opsToken = raw.HOLDFAST_OPS_TOKEN ?? randomBytes(24).toString('base64url');
  return Object.freeze({
    ...raw,
    home: path.resolve(cwd, raw.HOLDFAST_HOME),
    mongoUris: splitShardUris(raw.MONGODB_URI ?? ''),
    opsToken,
    opsTokenGenerated: raw.HOLDFAST_OPS_TOKEN === undefined,
    tokenSecret: raw.HOLDFAST_TOKEN_SECRET ?? randomBytes(32).toString('base64url'),
  });
}

/** Splits "uri1,uri2" into shard URIs; commas inside one URI's host list (a replica set seed list) stay. */
export function splitShardUris(value: string): string[] {
  return value
    .split(/,(?=\s*mongodb(?:\+srv)?:\/\/)/)
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

/** The API serves real shoppers in production: its secrets must be configured, not generated per process. */
export function assertApiSecrets(config: Config): void {
  if (config.NODE_ENV === 'production' && (!config.HOLDFAST_OPS_TOKEN || !config.HOLDFAST_TOKEN_SECRET)) {
    throw new ConfigError('HOLDFAST_OPS_TOKEN and HOLDFAST_TOKEN_SECRET must be set in production');
  }
}
