const started = Date.now();

/** Seconds since the chaos run started, for timestamps. */
export function elapsed(at = Date.now()): number {
  return Math.round((at - started) / 100) / 10;
}

/** A progress line on stderr: `[+12.3s] message` (the summary goes to stdout). */
export function log(message: string): void {
  console.error(`[+${elapsed().toFixed(1)}s] ${message}`);
}
