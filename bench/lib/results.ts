import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** One cell of bench/results/stock.json. */
export interface ResultRow {
  readonly variant: string;
  readonly concurrency: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly oversold: number;
}

export async function writeResults(file: string, results: readonly ResultRow[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ results }, null, 2)}\n`);
}

/** opsPerSec of `faster` over `slower` at one concurrency, when both were measured there. */
export function ratioAt(results: readonly ResultRow[], faster: string, slower: string, concurrency: number) {
  const find = (variant: string) => results.find((r) => r.variant === variant && r.concurrency === concurrency);
  const a = find(faster);
  const b = find(slower);
  return a && b && b.opsPerSec > 0 ? a.opsPerSec / b.opsPerSec : undefined;
}

/** Writes `data` as pretty JSON, creating the folder. */
export async function writeJson(file: string, data: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
}
