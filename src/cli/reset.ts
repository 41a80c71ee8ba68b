import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Config } from '../config';
import { assertPortsFree, homePaths, PortsInUseError, stackDataPaths, stackPorts } from '../infra';
import { CommandError, UsageError, type Options } from './args';
import type { LocalCommand } from './commands';

/** One thing reset will do: what it says before asking, and the step itself. */
interface Step {
  readonly says: string;
  run(): Promise<string>;
}

/** A URI as reset prints it: without its user and password. */
function shown(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * The embedded servers keep their state in files; they must be stopped first, since a running holdfast process
 * caches stock heads and products and would go on writing after them.
 */
function embeddedSteps(config: Readonly<Config>): Step[] {
  const data = stackDataPaths(homePaths(config.home).data);
  const steps: Step[] = [];
  if (config.mongoUris.length === 0) {
    steps.push({
      says: `delete ${data.ferretDb} (the local FerretDB shards: databases ${config.STOCK_DB}, ${config.CARTS_DB})`,
      run: async () => {
        await rm(data.ferretDb, { recursive: true, force: true });
        return `deleted ${data.ferretDb}`;
      },
    });
  }
  if (!config.TEMPORAL_ADDRESS) {
    steps.push({
      says: `delete ${data.temporalDb} (the local Temporal dev server: every run and its history)`,
      run: async () => {
        // SQLite keeps recent writes beside the file.
        for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(`${data.temporalDb}${suffix}`, { force: true });
        return `deleted ${data.temporalDb}`;
      },
    });
    if (existsSync(data.temporalCluster)) {
      steps.push({
        says: `delete ${data.temporalCluster} (the local Temporal cluster's PostgreSQL: every run and its history)`,
        run: async () => {
          await rm(data.temporalCluster, { recursive: true, force: true });
          return `deleted ${data.temporalCluster}`;
        },
      });
    }
  }
  return steps;
}

/** Servers holdfast did not start (MONGODB_URI, TEMPORAL_ADDRESS): emptied through their protocols. */
function externalSteps(config: Readonly<Config>): Step[] {
  const steps: Step[] = [];
  if (config.TEMPORAL_ADDRESS) {
    const address = config.TEMPORAL_ADDRESS;
    const query = `TaskQueue = '${config.TEMPORAL_TASK_QUEUE}' AND ExecutionStatus = 'Running'`;
    steps.push({
      says:
        `terminate every running workflow on task queue ${config.TEMPORAL_TASK_QUEUE} ` +
        `(namespace ${config.TEMPORAL_NAMESPACE}, Temporal at ${address})`,
      run: async () => {
        const { Client, Connection, WorkflowNotFoundError } = await import('@temporalio/client');
        const connection = await Connection.connect({ address });
        try {
          const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
          let terminated = 0;
          // Terminating runs while paging through the list can skip some: list again until none is left.
          for (let pass = 0; pass < 5; pass++) {
            let found = 0;
            for await (const run of client.workflow.list({ query })) {
              found++;
              try {
                await client.workflow.getHandle(run.workflowId, run.runId).terminate('holdfast reset');
                terminated++;
              } catch (err) {
                if (!(err instanceof WorkflowNotFoundError)) throw err; // it ended meanwhile
              }
            }
            if (found === 0) break;
          }
          return `terminated ${terminated} running workflow${terminated === 1 ? '' : 's'}`;
        } finally {
          await connection.close();
        }
      },
    });
  }
  if (config.mongoUris.length > 0) {
    const uris = config.mongoUris;
    steps.push({
      says: `drop databases ${config.STOCK_DB} and ${config.CARTS_DB} on ${uris.map(shown).join(', ')}`,
      run: async () => {
        const { ShardSet } = await import('../db');
        const shards = await ShardSet.connect({ uris, stockDb: config.STOCK_DB, cartsDb: config.CARTS_DB });
        try {
          for (let shard = 0; shard < shards.size; shard++) {
            await shards.stockDb(shard).dropDatabase();
            await shards.cartsDb(shard).dropDatabase();
          }
          return `dropped ${config.STOCK_DB} and ${config.CARTS_DB} on ${uris.length} shard${uris.length === 1 ? '' : 's'}`;
        } finally {
          await shards.close();
        }
      },
    });
  }
  return steps;
}

async function confirmed(steps: readonly Step[], options: Options): Promise<boolean> {
  if (options.yes) return true;
  if (!process.stdin.isTTY) {
    throw new UsageError('reset deletes data: confirm with --yes, or run it in a terminal to be asked');
  }
  process.stderr.write(`holdfast reset will:\n${steps.map((s) => `  - ${s.says}\n`).join('')}`);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question('Go on? [y/N] ')).trim());
  } finally {
    prompt.close();
  }
}

export const resetCommand: LocalCommand = {
  words: ['reset'],
  usage: '[--yes] [--force]',
  summary: 'empty the databases and end every run of the local stack (stop npm start first)',
  params: [],
  options: ['yes', 'force'],
  local: true,
  async run(config, _args, options) {
    const elsewhere = [
      ...(config.mongoUris.length > 0 ? ['MONGODB_URI'] : []),
      ...(config.TEMPORAL_ADDRESS ? ['TEMPORAL_ADDRESS'] : []),
    ];
    if (elsewhere.length > 0 && !options.force) {
      throw new CommandError(
        'refused',
        `${elsewhere.join(' and ')} point${elsewhere.length === 1 ? 's' : ''} at servers holdfast did not start; ` +
          'reset empties those only with --force',
      );
    }
    try {
      await assertPortsFree(stackPorts(config));
    } catch (err) {
      if (!(err instanceof PortsInUseError)) throw err;
      const held = err.busy.map(({ use, holder }) => `  port ${use.port} (${use.what})${holder ? `: ${holder}` : ''}`);
      throw new CommandError(
        'stack_running',
        `the local stack is running: stop it (Ctrl-C where npm start runs), then reset\n${held.join('\n')}`,
      );
    }
    // Runs first: a run left going would write again into the emptied databases.
    const steps = [...externalSteps(config), ...embeddedSteps(config)];
    if (!(await confirmed(steps, options))) {
      return { data: { reset: false }, text: 'nothing changed', exitCode: 1 };
    }
    const done: string[] = [];
    for (const step of steps) done.push(await step.run());
    const restart =
      elsewhere.length > 0 ? "restart holdfast's API and workers: they cache stock and create the schema at start" : '';
    return {
      data: { reset: true, done },
      text: [...done, restart || 'npm start begins with empty databases'].join('\n'),
    };
  },
};
