import os from 'node:os';
import { loadConfig } from '../../src/config';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tally } from '../harness/tally';
import type { Progress } from './progress';
import type { ScenarioArgs } from './scenario-args';
import type { BenchStack } from './stack-child';

/** What bench/run.ts hands a scenario: the parsed options, a running stack, and Ctrl-C. */
export interface ScenarioContext {
  readonly args: ScenarioArgs;
  readonly stack: BenchStack;
  readonly signal: AbortSignal;
}

/** A scenario resolves to the process's exit code: 1 when a correctness check failed. */
export type Scenario = (ctx: ScenarioContext) => Promise<number>;

/** A line on stderr per phase (above the progress bars), so a log without bars still shows where a run is. */
export function phase(progress: Progress | undefined, message: string): void {
  if (progress) progress.log(`> ${message}`);
  else console.error(`> ${message}`);
}

export function errorList(tally: Tally): { message: string; count: number }[] {
  return tally.entries().map(([message, count]) => ({ message, count }));
}

export function printErrors(what: string, tally: Tally): void {
  if (tally.total === 0) return;
  console.error(`\n${tally.total} ${what} failed:`);
  for (const [message, count] of tally.entries()) console.error(`  ${count} x ${message}`);
}

/** Waits until the wall-clock time `untilEpochMs`, moving a progress bar. */
export async function waitUntil(
  untilEpochMs: number,
  progress: Progress,
  label: string,
  signal: AbortSignal,
): Promise<void> {
  const from = Date.now();
  const update = progress.startCell(label, 's left');
  while (Date.now() < untilEpochMs) {
    update((Date.now() - from) / Math.max(1, untilEpochMs - from), Math.ceil((untilEpochMs - Date.now()) / 1000));
    await sleep(Math.min(1000, Math.max(0, untilEpochMs - Date.now())), undefined, { signal });
  }
  update(1, 0);
  progress.finishCell();
}

export function environment() {
  return {
    node: process.version,
    cpus: os.cpus().length,
    platform: `${os.type()} ${os.release()}`,
    // The Temporal a started stack runs on (HOLDFAST_TEMPORAL): the dev server or the multi-service cluster.
    temporal: loadConfig().HOLDFAST_TEMPORAL,
  };
}

/**
 * Prints every failed check (a check is a message when it failed, false or undefined when it held) and
 * returns the scenario's exit code: 1 when any failed.
 */
export function reportFailures(checks: readonly (string | false | undefined)[]): number {
  const failed = checks.filter((c): c is string => typeof c === 'string');
  for (const f of failed) console.error(`FAILED: ${f}`);
  return failed.length > 0 ? 1 : 0;
}
