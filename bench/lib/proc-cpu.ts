import { readFile } from 'node:fs/promises';
import { descendants } from './proc-memory';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const ticksPerSecond = 100;

/** Who burns the CPU in a bench run, by the process's command line. */
export type CpuRole = 'temporal' | 'postgresql' | 'ferretdb' | 'holdfast' | 'floor server' | 'load generator';

export type CpuSnapshot = ReadonlyMap<CpuRole, number>;

function roleOf(pid: number, cmdline: string): CpuRole | undefined {
  if (pid === process.pid) return 'load generator';
  if (cmdline.includes('floor-server')) return 'floor server';
  if (cmdline.includes('holdfast-ferretdb')) return 'ferretdb';
  if (/\btemporal\b.*start-dev/.test(cmdline)) return 'temporal';
  // The multi-service cluster (HOLDFAST_TEMPORAL=cluster): each service a temporal-server, on PostgreSQL.
  if (/temporal-server\b.*--service/.test(cmdline)) return 'temporal';
  if (/\bpostgres(:|\s|$)/.test(cmdline) || cmdline.includes('/postgresql/')) return 'postgresql';
  if (cmdline.includes('src/main.ts')) return 'holdfast';
  return undefined;
}

/**
 * CPU milliseconds (user + system, all threads) used so far by each role among these processes and their
 * descendants (Linux /proc; empty elsewhere). The difference of two snapshots is what a phase cost.
 */
export async function cpuSnapshot(roots: readonly number[]): Promise<CpuSnapshot> {
  const pids = new Set<number>([process.pid]);
  for (const root of roots) {
    pids.add(root);
    for (const pid of await descendants(root).catch(() => [])) pids.add(pid);
  }
  const totals = new Map<CpuRole, number>();
  for (const pid of pids) {
    try {
      const [stat, cmdline] = await Promise.all([
        readFile(`/proc/${pid}/stat`, 'utf8'),
        readFile(`/proc/${pid}/cmdline`, 'utf8'),
      ]);
      const role = roleOf(pid, cmdline.replaceAll('\0', ' '));
      if (!role) continue;
      // Fields after "(comm)": state is field 3, utime 14 and stime 15 (1-based over the whole line).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
      totals.set(role, (totals.get(role) ?? 0) + ms);
    } catch {
      // exited meanwhile, or not Linux
    }
  }
  return totals;
}

/** CPU ms per request of each role between two snapshots (roles that used none are left out). */
export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, requests: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [role, ms] of after) {
    const used = ms - (before.get(role) ?? 0);
    if (used <= 0) continue;
    out[role] = Math.round((used / requests) * 10) / 10;
    total += used;
  }
  out.total = Math.round((total / requests) * 10) / 10;
  return out;
}
