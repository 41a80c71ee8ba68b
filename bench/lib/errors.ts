import { MongoServerError } from 'mongodb';

/** Failed attempts by exact message, so a run reports every distinct failure it saw and how often. */
export class ErrorTally {
  private readonly counts = new Map<string, number>();

  add(err: unknown): void {
    const key = describe(err);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  merge(other: ErrorTally): void {
    for (const [key, n] of other.counts) this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  get total(): number {
    return [...this.counts.values()].reduce((sum, n) => sum + n, 0);
  }

  entries(): [message: string, count: number][] {
    return [...this.counts.entries()];
  }
}

function describe(err: unknown): string {
  if (err instanceof MongoServerError) return `${err.name} (code ${err.code} ${err.codeName ?? ''}): ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
