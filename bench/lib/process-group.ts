import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A child process leading its own process group, with everything it starts (servers) in that group. */
export interface GroupChild {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** The exit code, or null while it runs (or when a signal ended it). */
  exitCode(): number | null;
  readonly exited: Promise<void>;
  /** SIGTERM to the child, then waits until no process of its group is left (SIGKILL to the group after a while). */
  stop(): Promise<void>;
}

// As src/infra does for its servers: the child gets SIGTERM when the bench dies, even by SIGKILL.
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** Starts `command args` detached (its own process group, so Ctrl-C reaches only the bench), output to a log. */
export function spawnGroup(
  name: string,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string },
): GroupChild {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  const [file, argv] = setpriv ? [setpriv, ['--pdeathsig', 'TERM', '--', command, ...args]] : [command, args];
  const child = spawn(file, argv, { env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const running = () => child.exitCode === null && child.signalCode === null;

  return {
    name,
    pid,
    logFile: options.logFile,
    exitCode: () => child.exitCode,
    exited,
    async stop() {
      if (running()) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(30_000)]);
      }
      // The child stops its own servers on SIGTERM; whatever is left of its group after that is stray.
      if (await groupGone(pid, running() ? 0 : 10_000)) return;
      signalGroup(pid, 'SIGTERM');
      if (await groupGone(pid, 10_000)) return;
      signalGroup(pid, 'SIGKILL');
      if (!(await groupGone(pid, 5_000))) throw new Error(`${name}: process group ${pid} survived SIGKILL`);
    },
  };
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}
