import { MongoServerError } from 'mongodb';

/**
 * Counts by message: every distinct failure a run saw (or answer, or status) and how often, for its report.
 * JSON shows the counts most first.
 */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(message: string, n = 1): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + n);
  }

  /** Counts an error by its name and message (a MongoDB server error with its code). */
  addError(err: unknown): void {
    this.add(describeError(err));
  }

  merge(other: Tally): void {
    for (const [message, n] of other.counts) this.add(message, n);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  entries(): [message: string, count: number][] {
    return [...this.counts.entries()];
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
  }
}

function describeError(err: unknown): string {
  if (err instanceof MongoServerError) return `${err.name} (code ${err.code} ${err.codeName ?? ''}): ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
