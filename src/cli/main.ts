import { randomUUID } from 'node:crypto';
import { idempotencyKeyLength as idempotencyKeySchema } from '../contract/http';
import { ConfigError, loadConfig, type Config } from '../config';
import { ApiClient, ApiError } from './api-client';
import { CommandError, parseCommandLine, UsageError, type Options } from './args';
import { checkArguments, commands, commandUsage, findCommand, type Command, type Outcome } from './commands';

const exitOk = 0;
const exitFailed = 1;
const exitUsage = 2;

function helpText(): string {
  const width = 40;
  const lines = [
    ...commands.map((c) => ({ usage: commandUsage(c).replace(/^holdfast /, ''), summary: c.summary })),
    { usage: 'help', summary: 'this help (and: holdfast <command> --help)' },
  ].flatMap(({ usage, summary }) =>
    usage.length < width ? [`  ${usage.padEnd(width)}${summary}`] : [`  ${usage}`, `  ${''.padEnd(width)}${summary}`],
  );
  return [
    'usage: holdfast <command> [arguments] [--api URL] [--token TOKEN] [--json]',
    '',
    'commands:',
    ...lines,
    '',
    'options:',
    '  --api URL       the HTTP API (default http://$API_HOST:$API_PORT, i.e. http://127.0.0.1:3000)',
    '  --token TOKEN   the ops bearer token (default $HOLDFAST_OPS_TOKEN, else in development the token npm start',
    '                  keeps in $HOLDFAST_HOME/secrets.json, sent to a local API only; prefer these: arguments show in ps)',
    "  --json          print the API's JSON instead of tables",
    '  --yes           reset: go ahead without asking',
    '  --force         reset: also empty the servers that MONGODB_URI and TEMPORAL_ADDRESS point at',
    '  --idempotency-key K',
    '                  writes: send it with this key, as an earlier run of it printed (default: a new key, printed);',
    '                  a restock or move sent again with its key is not done twice',
    '',
    'exit status: 0 done, 1 API error or invariant violation, 2 bad usage',
  ].join('\n');
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The API and token: options first, then the configuration (read only when an option is missing). The token
 * development keeps for `npm start` goes only to an API on this machine: it is no one else's business.
 */
function connection(options: Options, configured: () => Readonly<Config>): { api: string; token: string | undefined } {
  const api = options.api ?? `http://${configured().API_HOST}:${configured().API_PORT}`;
  let url: URL;
  try {
    url = new URL(api);
  } catch {
    throw new UsageError(`--api must be a URL, got "${api}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--api must be http(s), got "${api}"`);
  if (options.token !== undefined) return { api, token: options.token };
  const config = configured();
  const kept = config.opsTokenSource === 'kept' && loopbackHosts.has(url.hostname);
  return { api, token: config.HOLDFAST_OPS_TOKEN ?? (kept ? config.opsToken : undefined) };
}

/** A write's Idempotency-Key: the one given, to retry an earlier run, or a new one. Reads send none. */
function idempotencyKeyOf(command: Command, options: Options): string | undefined {
  if (!command.writes) return undefined;
  const given = options['idempotency-key'];
  if (given === undefined) return randomUUID();
  if (given.length < idempotencyKeySchema.minLength || given.length > idempotencyKeySchema.maxLength) {
    throw new UsageError(
      `--idempotency-key must be ${idempotencyKeySchema.minLength} to ${idempotencyKeySchema.maxLength} characters`,
    );
  }
  return given;
}

/**
 * Runs one command line; returns the exit status. Output goes to stdout, errors to stderr; a write prints its
 * Idempotency-Key on stderr last, whatever happened, so that a write that failed or got no answer can be retried.
 */
async function run(argv: readonly string[]): Promise<number> {
  let command: Command | undefined;
  let idempotencyKey: string | undefined;
  try {
    const { values: options, positionals } = parseCommandLine(argv);
    if (positionals[0] === 'help' || (positionals.length === 0 && options.help)) {
      process.stdout.write(`${helpText()}\n`);
      return exitOk;
    }
    if (positionals.length === 0) throw new UsageError('no command');
    const found = findCommand(positionals);
    command = found.command;
    if (options.help) {
      const retry = command.writes
        ? '\n  a write: --idempotency-key K retries an earlier run of it (see holdfast help)'
        : '';
      process.stdout.write(`usage: ${commandUsage(command)}\n  ${command.summary}${retry}\n`);
      return exitOk;
    }
    checkArguments(command, found.args, options);
    let config: Readonly<Config> | undefined;
    const configured = () => (config ??= loadConfig());
    let outcome: Outcome;
    if (command.local) {
      outcome = await command.run(configured(), found.args, options);
    } else {
      const { api, token } = connection(options, configured);
      idempotencyKey = idempotencyKeyOf(command, options);
      outcome = await command.run(new ApiClient(api, token, idempotencyKey), found.args, options);
    }
    process.stdout.write(`${options.json ? JSON.stringify(outcome.data, null, 2) : outcome.text}\n`);
    return outcome.exitCode ?? exitOk;
  } catch (err) {
    if (err instanceof UsageError) {
      const usage = command ? `usage: ${commandUsage(command)}` : helpText();
      process.stderr.write(`holdfast: ${err.message}\n${usage}\n`);
      return exitUsage;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`error: ${err.code}: ${err.message}\n`);
      if (err.status === 401 || err.status === 403) {
        process.stderr.write('hint: ops commands need --token or HOLDFAST_OPS_TOKEN\n');
      }
      return exitFailed;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`error: invalid_config: ${err.message}\n`);
      return exitFailed;
    }
    if (err instanceof CommandError) {
      process.stderr.write(`error: ${err.code}: ${err.message}\n`);
      return exitFailed;
    }
    throw err;
  } finally {
    if (idempotencyKey !== undefined) {
      process.stderr.write(
        `idempotency key: ${idempotencyKey} (to retry this write: --idempotency-key ${idempotencyKey})\n`,
      );
    }
  }
}

// exitCode rather than process.exit(): a piped stdout is flushed before the process ends.
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: internal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = exitFailed;
  },
);
