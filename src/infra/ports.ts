import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';
import { freePorts, SetupError } from './process';

/** A port holdfast is about to listen on: what for, and the setting that moves it. */
export interface PortUse {
  readonly port: number;
  readonly host: string;
  /** What would listen there: "Temporal dev server", "the API"... */
  readonly what: string;
  /** The environment variable that sets it. */
  readonly envVar: string;
}

/** Some ports holdfast needs are taken: one line per port, naming its holder when known and the setting. */
export class PortsInUseError extends SetupError {
  constructor(readonly busy: readonly { readonly use: PortUse; readonly holder: string | undefined }[]) {
    super(
      busy
        .map(
          ({ use, holder }) =>
            `port ${use.port} (${use.what}) is already in use${holder ? ` by ${holder}` : ''}: ` +
            `stop that process or set ${use.envVar} to a free port`,
        )
        .join('\n'),
    );
  }
}

/**
 * Refuses to go on unless every port is free. A server started on a taken port fails to bind, and whoever
 * waits for the port would find the other listener and use it: holdfast's schema in someone else's database, its
 * worker on another Temporal. So every port is checked before anything is installed, started or written.
 */
export async function assertPortsFree(uses: readonly PortUse[]): Promise<void> {
  const checked = await Promise.all(uses.map(async (use) => ({ use, free: await canListen(use.host, use.port) })));
  const busy = checked.filter((c) => !c.free).map((c) => c.use);
  if (busy.length === 0) return;
  throw new PortsInUseError(await Promise.all(busy.map(async (use) => ({ use, holder: await portHolder(use.port) }))));
}

/** Whether this process could listen on host:port now (it listens and closes at once). */
export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port }, () => server.close(() => resolve(true)));
  });
}

/** A free port on 127.0.0.1 whose `count - 1` successors are free too (FerretDB's shards take consecutive ports). */
export async function consecutiveFreePorts(count: number, avoid: readonly number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const [port] = (await freePorts(1)) as [number];
    const run = Array.from({ length: count }, (_, i) => port + i);
    if (run.at(-1)! > 65535 || run.some((p) => avoid.includes(p))) continue;
    if ((await Promise.all(run.map((p) => canListen('127.0.0.1', p)))).every(Boolean)) return port;
  }
  throw new SetupError(`found no ${count} consecutive free ports`);
}

/** `count` distinct free ports on 127.0.0.1 within [low, high], for servers that cannot take the OS's high ones. */
export async function freePortsBetween(count: number, low: number, high: number): Promise<number[]> {
  const found = new Set<number>();
  for (let attempt = 0; found.size < count && attempt < 50 * count; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (!found.has(port) && (await canListen('127.0.0.1', port))) found.add(port);
  }
  if (found.size < count) throw new SetupError(`found no ${count} free ports between ${low} and ${high}`);
  return [...found];
}

/** Listening TCP sockets of this machine (Linux's /proc/net), by socket inode: the port each listens on. */
async function listeningSockets(): Promise<Map<string, number>> {
  const sockets = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st ... inode: state 0A is LISTEN, the port is the local address's hex suffix.
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (state === '0A' && local && inode) sockets.set(inode, parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return sockets;
}

/** The inodes of the sockets a process has open; empty when it cannot tell (another OS, another user's process). */
async function socketInodes(pid: string): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return targets.flatMap((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1] ?? []);
}

/**
 * Who listens on a TCP port, as "pid N (command line)", from Linux's /proc; undefined when it cannot tell (another
 * OS, or a process of another user).
 */
export async function portHolder(port: number): Promise<string | undefined> {
  const inodes = new Set([...(await listeningSockets())].filter(([, p]) => p === port).map(([inode]) => inode));
  if (inodes.size === 0) return undefined;
  const pids = (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    if ((await socketInodes(pid)).some((inode) => inodes.has(inode))) return `pid ${pid} (${await commandLine(pid)})`;
  }
  return undefined;
}

/** The TCP ports a process listens on, from Linux's /proc (empty when it cannot tell). */
export async function listeningPorts(pid: number): Promise<number[]> {
  const sockets = await listeningSockets();
  const ports = (await socketInodes(String(pid))).flatMap((inode) => sockets.get(inode) ?? []);
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** A process's command line, its arguments joined by spaces (at most 100 characters). */
async function commandLine(pid: string): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const line = raw.split('\0').filter(Boolean).join(' ');
  return line.length > 100 ? `${line.slice(0, 97)}...` : line || 'unknown command';
}
