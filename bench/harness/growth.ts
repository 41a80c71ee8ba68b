/** What the soak samples of a run's processes once a minute. */
export interface ProcessSamples {
  readonly minute: number;
  readonly processes: readonly {
    readonly command: string;
    readonly role: string;
    readonly rssMb: number;
    readonly fds: number;
  }[];
}

/** Growth allowed from the warm sample to the last, in RSS: both the share and the megabytes must be passed. */
const rssGrowthShare = 0.25;
const rssGrowthMb = 64;
/**
 * Growth allowed over the run's second half (its middle sample to the last): a bounded cache may still be
 * filling after the warm-up, but by the middle of a long run it is full, while a leak goes on growing.
 */
const lateRssGrowthShare = 0.1;
const lateRssGrowthMb = 16;
/** Open descriptors allowed to grow by this many (pools fill up; a leak grows without end). */
const fdGrowth = 64;

/**
 * Processes that grew: from the warm-up's last sample to the last one by more than the allowance, or over the
 * run's second half by more than the late allowance (a share and megabytes, both passed), or in descriptors.
 */
export function growthProblems(log: readonly ProcessSamples[], warmupMinutes: number): string[] {
  const warm = log[warmupMinutes - 1]!;
  const middle = log[Math.max(warmupMinutes, Math.floor(log.length / 2)) - 1]!;
  const last = log.at(-1)!;
  const grewBy = (from: number, to: number, mb: number, share: number) => to - from > mb && to > from * (1 + share);
  return last.processes.flatMap((p) => {
    const before = warm.processes.find((w) => w.command === p.command);
    const mid = middle.processes.find((w) => w.command === p.command);
    if (!before) return [];
    const problems: string[] = [];
    if (grewBy(before.rssMb, p.rssMb, rssGrowthMb, rssGrowthShare))
      problems.push(`${p.role}: RSS ${before.rssMb} → ${p.rssMb} MB from minute ${warm.minute} to ${last.minute}`);
    if (mid && grewBy(mid.rssMb, p.rssMb, lateRssGrowthMb, lateRssGrowthShare))
      problems.push(`${p.role}: RSS ${mid.rssMb} → ${p.rssMb} MB from minute ${middle.minute} to ${last.minute}`);
    if (p.fds - before.fds > fdGrowth) problems.push(`${p.role}: descriptors ${before.fds} → ${p.fds}`);
    return problems;
  });
}
