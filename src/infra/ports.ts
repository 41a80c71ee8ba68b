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

/**
 * Who listens on a TCP port, as "pid N (command line)", from Linux's /proc; undefined when it cannot tell (another
 * OS, or a process of another user).
 */
export async function portHolder(port: number): Promise<string | undefined> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st ... inode: state 0A is LISTEN, the port is the local address's hex suffix.
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (state === '0A' && local && inode && parseInt(local.split(':')[1] ?? '', 16) === port) inodes.add(inode);
    }
  }
  if (inodes.size === 0) return undefined;
  const pids = (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '')) return `pid ${pid} (${await commandLine(pid)})`;
    }
  }
  return undefined;
}

async function commandLine(pid: string): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const line = raw.split('\0').filter(Boolean).join(' ');
  return line.length > 100 ? `${line.slice(0, 97)}...` : line || 'unknown command';
}
