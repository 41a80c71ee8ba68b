import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { round } from '../harness/percentiles';

/** A process's resident memory from /proc/<pid>/status (Linux). */
export interface ProcessMemory {
  readonly pid: number;
  /** Its executable's file name and first arguments (and `--service X`), e.g. `holdfast-ferretdb -listen`. */
  readonly command: string;
  /** VmRSS: resident now. */
  readonly rssMb: number;
  /** VmHWM: the most it was ever resident. */
  readonly peakRssMb: number;
}

export async function processMemory(pid: number): Promise<ProcessMemory | undefined> {
  try {
    const [status, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const [exe = '', ...args] = cmdline.split('\0').filter(Boolean);
    return {
      pid,
      // A Temporal cluster's services are one executable told apart by `--service`, late in their arguments.
      command: [path.basename(exe), ...args.slice(0, 3), ...serviceOf(args)].join(' '),
      rssMb: round(kb('VmRSS') / 1024, 1),
      peakRssMb: round(kb('VmHWM') / 1024, 1),
    };
  } catch {
    return undefined; // gone, or not Linux
  }
}

function serviceOf(args: readonly string[]): string[] {
  const at = args.indexOf('--service');
  return at >= 3 && at + 1 < args.length ? ['--service', args[at + 1]!] : [];
}

/** Every live descendant of `pid` (children, their children, ...), from each process's parent in /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}
