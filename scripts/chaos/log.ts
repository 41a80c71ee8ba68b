const started = Date.now();

/** Seconds since the chaos run started, for timestamps. */
export function elapsed(at = Date.now()): number {
  return Math.round((at - started) / 100) / 10;
}

/** A progress line on stderr: `[+12.3s] message` (the summary goes to stdout). */
export function log(message: string): void {
  console.error(`[+${elapsed().toFixed(1)}s] ${message}`);
}

/** Counts of distinct messages (transient failures, unexpected answers). */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(message: string, n = 1): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + n);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
  }
}
