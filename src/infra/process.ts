import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process holdfast started and must stop: a server, or one of holdfast's own for a bench or chaos run. */
export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves once it has exited. */
  readonly exited: Promise<void>;
  running(): boolean;
  /** Sends `signal` while it runs (a fault: SIGKILL mid-work). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM (or its stop signal), then SIGKILL after the grace time; a group leader's stop also ends whatever is left of its group. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * Lead a process group of its own, with everything it starts in it: Ctrl-C in the terminal reaches only
   * this process, which stops its children itself; stop() ends any left over.
   */
  readonly group?: boolean;
  /** How long stop() waits after SIGTERM before SIGKILL (default 10 s). */
  readonly graceMs?: number;
  /** Run as this OS user (needs setpriv, and root to switch): PostgreSQL refuses to run as root. */
  readonly user?: string;
  /** What stop() sends first (default SIGTERM). */
  readonly stopSignal?: NodeJS.Signals;
}

export class SetupError extends Error {
  override readonly name = 'SetupError';
}

// Where util-linux's setpriv exists, a process holdfast starts gets SIGTERM when holdfast dies, even by SIGKILL:
// none outlives it.
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** Starts a long-running process with its output appended to a log file. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  logFile: string,
  options: StartOptions = {},
): ManagedProcess {
  if (options.user !== undefined && !setpriv) throw new SetupError(`${name}: running as ${options.user} needs setpriv`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = openSync(logFile, 'a');
  // One setpriv for both: a second one that switched user would clear the first one's death signal.
  const [file, argv] = setpriv
    ? [setpriv, [...userArgs(options.user), '--pdeathsig', 'TERM', '--', command, ...args]]
    : [command, args];
  const child = spawn(file, argv, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    detached: options.group ?? false,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new SetupError(`${name}: could not start ${command}`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const graceMs = options.graceMs ?? 10_000;
  return {
    name,
    child,
    pid,
    logFile,
    exited,
    running,
    kill(signal) {
      if (running()) child.kill(signal);
    },
    async stop() {
      if (running()) {
        child.kill(options.stopSignal ?? 'SIGTERM');
        if (!(await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]))) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      if (options.group) await endGroup(name, pid);
    },
  };
}

/** The leader stops its own children on SIGTERM; whatever is left of its group after that is stray. */
async function endGroup(name: string, pgid: number): Promise<void> {
  if (await groupGone(pgid, 10_000)) return;
  signalGroup(pgid, 'SIGTERM');
  if (await groupGone(pgid, 10_000)) return;
  signalGroup(pgid, 'SIGKILL');
  if (!(await groupGone(pgid, 5_000))) throw new SetupError(`${name}: process group ${pgid} survived SIGKILL`);
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

function userArgs(user: string | undefined): string[] {
  return user === undefined ? [] : [`--reuid=${user}`, `--regid=${user}`, '--init-groups'];
}

/** Runs a command to completion, throwing with its output when it fails. */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; user?: string } = {},
) {
  const { user, ...spawnOptions } = options;
  if (user !== undefined && !setpriv) throw new SetupError(`running ${command} as ${user} needs setpriv`);
  const [file, argv] = user === undefined ? [command, args] : [setpriv!, [...userArgs(user), '--', command, ...args]];
  const child = spawn(file, argv, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) {
    throw new SetupError(`${command} ${args.join(' ')} failed (exit ${code}):\n${output.slice(-4000)}`);
  }
  return output;
}

export function isPortOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until host:port accepts connections, or fails when the process dies or the time runs out. */
export async function waitForPort(proc: ManagedProcess, host: string, port: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) {
      throw new SetupError(`${proc.name} exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
    }
    if (await isPortOpen(host, port)) return;
    await sleep(100);
  }
  throw new SetupError(`${proc.name} did not listen on ${host}:${port} within ${timeoutMs} ms; see ${proc.logFile}`);
}

/** Finds an executable on a PATH-style list of directories. */
export async function which(name: string, searchPath: string): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Asks the OS for `count` distinct free TCP ports on 127.0.0.1 (for test servers running side by side). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
