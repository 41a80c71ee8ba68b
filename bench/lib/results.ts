import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { round } from '../harness/percentiles';

/** One cell of bench/results/stock.json. */
export interface ResultRow {
  readonly variant: string;
  readonly concurrency: number;
  /** OS processes the cell's clients ran in. */
  readonly processes: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Absent for a variant that sells no stock (raw-insert): it has no sell-out race. */
  readonly oversold?: number;
  /** opsPerSec over raw-insert's at the same concurrency in the same run; absent when raw-insert was not run. */
  readonly ratioToRawInsert?: number;
}

/** What bench/results/stock.json holds: the rule that chose each cell's processes, and the cells. */
export async function writeResults(file: string, processRule: string, results: readonly ResultRow[]): Promise<void> {
  await writeJson(file, { processRule, results });
}

/** opsPerSec of `faster` over `slower` at one concurrency, when both were measured there. */
export function ratioAt(results: readonly ResultRow[], faster: string, slower: string, concurrency: number) {
  const find = (variant: string) => results.find((r) => r.variant === variant && r.concurrency === concurrency);
  const a = find(faster);
  const b = find(slower);
  return a && b && b.opsPerSec > 0 ? a.opsPerSec / b.opsPerSec : undefined;
}

/** Every row with its ratio to raw-insert at the same concurrency, where raw-insert was measured. */
export function withRawInsertRatios(results: readonly ResultRow[]): ResultRow[] {
  return results.map((r) => {
    const ratio = ratioAt(results, r.variant, 'raw-insert', r.concurrency);
    return ratio === undefined ? r : { ...r, ratioToRawInsert: round(ratio, 3) };
  });
}

/** Writes `data` as pretty JSON, creating the folder. */
export async function writeJson(file: string, data: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
}
