/**
 * The last document of a gapless run numbered from 0 (a bucket's ledger seqs, a lease's epochs), from one
 * known to exist: probe ahead by doubling steps, then binary-search the gap, so the cost is logarithmic in how
 * far behind the known one was.
 */
export async function lastOfRun<T>(
  known: { readonly n: number; readonly doc: T },
  probe: (n: number) => Promise<T | null>,
): Promise<{ n: number; doc: T }> {
  let last = known;
  let step = 1;
  let found: T | null;
  while ((found = await probe(last.n + step))) {
    last = { n: last.n + step, doc: found };
    step *= 2;
  }
  let missing = last.n + step;
  while (missing - last.n > 1) {
    const mid = Math.floor((last.n + missing) / 2);
    found = await probe(mid);
    if (found) last = { n: mid, doc: found };
    else missing = mid;
  }
  return last;
}

/** Like `lastOfRun`, from the known one or, knowing none, from the run's first (0): null when the run is empty. */
export async function lastOfRunFrom<T>(
  known: { readonly n: number; readonly doc: T } | null,
  probe: (n: number) => Promise<T | null>,
): Promise<{ n: number; doc: T } | null> {
  if (known) return lastOfRun(known, probe);
  const first = await probe(0);
  return first ? lastOfRun({ n: 0, doc: first }, probe) : null;
}
