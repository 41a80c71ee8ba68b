import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SetupError, type ManagedProcess } from './process';

export interface HealthWait {
  readonly timeoutMs: number;
  /** Processes that must keep running meanwhile: the wait fails, with the end of its log, when one exits. */
  readonly watch?: readonly ManagedProcess[];
  readonly signal?: AbortSignal;
}

/** Polls GET <baseUrl>/health until it answers 200 (holdfast's: the API listens, and Temporal and every shard answer it). */
export async function waitForHealth(baseUrl: string, options: HealthWait): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    const gone = options.watch?.find((p) => !p.running());
    if (gone) {
      throw new SetupError(`${gone.name} exited with code ${gone.child.exitCode}:\n${await logTail(gone.logFile)}`);
    }
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(5000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(500);
  }
  const logs = await Promise.all((options.watch ?? []).map((p) => logTail(p.logFile)));
  throw new SetupError(
    `${baseUrl}/health did not answer 200 within ${options.timeoutMs / 1000} s (last: ${last})` +
      logs.map((l) => `\n${l}`).join(''),
  );
}

/** The end of a log file, for an error message. */
async function logTail(file: string, chars = 4000): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).slice(-chars);
  } catch {
    return `(no log at ${file})`;
  }
}
