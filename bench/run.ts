/**
 * `npm run bench -- --scenario flash-sale|backorder|holds-rss`: end-to-end benchmarks through the real HTTP API.
 * Starts the whole stack (`src/main.ts`) in a child process with free ports and throwaway data, or uses the one
 * named by --api; runs the scenario; stops what it started, also on Ctrl-C. See bench/lib/scenario-args.ts.
 */
import { backorder } from './backorder';
import { flashSale } from './flash-sale';
import { holdsRss } from './holds-rss';
import { UsageError } from './harness/args';
import { phase, type Scenario } from './lib/scenario';
import { parseScenarioArgs, scenarioUsage, type ScenarioName } from './lib/scenario-args';
import { logDigest, startBenchStack } from './lib/stack-child';

const scenarios: Record<ScenarioName, Scenario> = {
  'flash-sale': flashSale,
  backorder,
  'holds-rss': holdsRss,
};

// Ctrl-C: requests in flight finish, nothing new starts, and the stack is stopped before the bench exits.
const abort = new AbortController();

async function run() {
  const args = parseScenarioArgs(process.argv.slice(2));
  if (args.help) {
    console.log(scenarioUsage);
    return;
  }
  const interrupt = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  phase(
    undefined,
    args.external
      ? `using the stack at ${args.external.apiUrl}`
      : `starting the stack: node --import tsx src/main.ts (HOLD_TTL_SECONDS=${args.ttlSeconds}, throwaway data)`,
  );
  const stack = await startBenchStack({
    ttlSeconds: args.ttlSeconds,
    namespace: args.namespace,
    external: args.external,
    signal: abort.signal,
  });
  let failed = true;
  try {
    process.exitCode = await scenarios[args.scenario]({ args, stack, signal: abort.signal });
    failed = process.exitCode !== 0;
  } finally {
    if (stack.child) {
      const logged = await logDigest(stack.child.logFile);
      if (logged.length > 0) {
        console.error(`\nthe stack logged ${logged.reduce((n, l) => n + l.count, 0)} warnings or errors:`);
        for (const { message, count } of logged.slice(0, 15)) console.error(`  ${count} x ${message}`);
        if (logged.length > 15) console.error(`  ... and ${logged.length - 15} more distinct lines`);
      }
      phase(undefined, 'stopping the stack');
    }
    // Logs are kept when something failed (not when interrupted), and the stop says where.
    await stack.stop(failed && !abort.signal.aborted);
  }
}

run().catch((err: unknown) => {
  if (abort.signal.aborted) console.error('interrupted: no results written');
  else console.error(err instanceof UsageError ? err.message : err);
  process.exit(abort.signal.aborted ? 130 : 1);
});
