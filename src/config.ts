import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Which Temporal holdfast starts when TEMPORAL_ADDRESS is unset: the dev server, or a multi-service cluster. */
  HOLDFAST_TEMPORAL: z.enum(['dev', 'cluster']).default('dev'),
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

  /** `npm run worker` serves its Prometheus metrics (and the Temporal SDK's) at http://HOST:PORT/metrics. */
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  WORKER_METRICS_PORT: port.default(9464),

  /**
   * Workflow runs a worker keeps in memory. Idle holds past it are evicted and replayed from their short
   * histories when they next wake; it bounds worker memory (about 0.1-0.2 MB per cached run).
   */
  WORKER_MAX_CACHED_WORKFLOWS: positiveInt.default(1000),
  /**
   * Workflow tasks a worker runs at once, and its pollers for them (the SDK's defaults, 40 and 10, when unset). A
   * hold's first workflow task runs its reservation's local activities, so it keeps its slot for their time.
   */
  WORKER_WORKFLOW_TASK_SLOTS: positiveInt.optional(),
  WORKER_WORKFLOW_TASK_POLLERS: positiveInt.min(2).optional(),
  /**
   * A workflow bundle built ahead (`npm run build:workflows`, the Docker image does): the worker loads it
   * instead of bundling the workflow sources with webpack at every start.
   */
  WORKFLOW_BUNDLE: optionalString,

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
  /** The ops bearer token: HOLDFAST_OPS_TOKEN, else one holdfast generated (see opsTokenSource). */
  readonly opsToken: string;
  /**
   * Where opsToken comes from: `environment` (HOLDFAST_OPS_TOKEN), `kept` (development: generated once and kept in
   * secretsFile) or `process` (generated for this process only: tests, and production, where the API refuses it).
   */
  readonly opsTokenSource: 'environment' | 'kept' | 'process';
  /** True unless HOLDFAST_OPS_TOKEN gave the token. */
  readonly opsTokenGenerated: boolean;
  /** Signs shoppers' cart tokens: HOLDFAST_TOKEN_SECRET, else generated like opsToken. */
  readonly tokenSecret: string;
  /** Development only: HOLDFAST_HOME/secrets.json, where generated secrets are kept across restarts. */
  readonly secretsFile: string | undefined;
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
  const home = path.resolve(cwd, raw.HOLDFAST_HOME);
  // Development keeps what it generates, so a restart keeps the ops token and every shopper's cart token valid.
  const secretsFile = raw.NODE_ENV === 'development' ? path.join(home, 'secrets.json') : undefined;
  const fromEnv = raw.HOLDFAST_OPS_TOKEN !== undefined && raw.HOLDFAST_TOKEN_SECRET !== undefined;
  const generated = fromEnv ? undefined : secretsFile ? keptSecrets(secretsFile) : newSecrets();
  return Object.freeze({
    ...raw,
    home,
    mongoUris: splitShardUris(raw.MONGODB_URI ?? ''),
    opsToken: raw.HOLDFAST_OPS_TOKEN ?? generated!.opsToken,
    opsTokenSource: raw.HOLDFAST_OPS_TOKEN ? 'environment' : secretsFile ? 'kept' : 'process',
    opsTokenGenerated: raw.HOLDFAST_OPS_TOKEN === undefined,
    tokenSecret: raw.HOLDFAST_TOKEN_SECRET ?? generated!.tokenSecret,
    secretsFile,
  });
}

const secretsSchema = z.object({ opsToken: z.string().min(1), tokenSecret: z.string().min(1) });
type Secrets = z.infer<typeof secretsSchema>;

function newSecrets(): Secrets {
  return { opsToken: randomBytes(24).toString('base64url'), tokenSecret: randomBytes(32).toString('base64url') };
}

/** The secrets kept in `file`, written there (mode 0600) first when there are none yet. */
function keptSecrets(file: string): Secrets {
  const existing = readSecrets(file);
  if (existing) return existing;
  const secrets = newSecrets();
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  try {
    // A link never replaces a file: when two processes start at once, the first one's secrets stand for both.
    linkSync(temp, file);
    return secrets;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readSecrets(file)!;
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
}

function readSecrets(file: string): Secrets | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = secretsSchema.safeParse(parseJson(text));
  if (!parsed.success) {
    throw new ConfigError(`${file} does not hold holdfast's secrets: delete it and holdfast generates new ones`);
  }
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Splits "uri1,uri2" into shard URIs; commas inside one URI's host list (a replica set seed list) stay. */
export function splitShardUris(value: string): string[] {
  return value
    .split(/,(?=\s*mongodb(?:\+srv)?:\/\/)/)
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

/** The API serves real shoppers in production: its secrets must be configured, not generated by holdfast. */
export function assertApiSecrets(config: Config): void {
  if (config.NODE_ENV === 'production' && (!config.HOLDFAST_OPS_TOKEN || !config.HOLDFAST_TOKEN_SECRET)) {
    throw new ConfigError('HOLDFAST_OPS_TOKEN and HOLDFAST_TOKEN_SECRET must be set in production');
  }
}
