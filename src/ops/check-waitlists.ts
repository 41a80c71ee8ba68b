import type { CartLine } from '../contract/types';
import type { InvariantReport } from '../stock';

/** A product's part in rule 13: its SKU and, when it has a waitlist, the offer window. */
interface WaitlistProduct {
  readonly sku: string;
  readonly offerSeconds?: number;
}

/**
 * Join order: earliest first. Rows keep the queue's stamp of their arrival, strictly increasing per queue, so the
 * order is the queue's own; the hold id only orders a line whose queue has not stamped it yet.
 */
const byJoin = (a: CartLine, b: CartLine) => a.joinedAt!.localeCompare(b.joinedAt!) || a.holdId.localeCompare(b.holdId);

/**
 * Rule 13 of the system check, per SKU with a waitlist, from its lines (those that joined it have `joinedAt`)
 * and its ledger report, for a quiet system:
 *  - served in join order among those that fit: when a line was offered, every line that joined before it and
 *    asked for no more units had been offered already or had left (removed: a waitlisted line saves its removal
 *    before it leaves the queue; one the queue passed over for its buyer's per-customer limit, `refusedByLimit`,
 *    left when the queue refused its fill);
 *  - one waiter at a time: an offer's units are one line's (no hold owned twice: rule 3's pass checks it), and
 *    a waitlisted line holds nothing;
 *  - never stranded: an offer is held no longer than its window (past it, rule 2 finds a pending line past its
 *    expiry; an expired one must have released its units, rule 2 too); units given back wait `incoming` only
 *    for waiters they cannot fill yet: with nobody waiting none are `incoming`, and while anyone waits none are
 *    available and fewer than the smallest waiting quantity are `incoming`;
 *  - no overselling is the ledger's rule 1.
 */
export function waitlistViolations(
  products: readonly WaitlistProduct[],
  lines: readonly CartLine[],
  reportOf: ReadonlyMap<string, InvariantReport>,
): string[] {
  const violations: string[] = [];
  for (const { sku, offerSeconds } of products) {
    if (offerSeconds === undefined) continue;
    const joined = lines.filter((l) => l.sku === sku && l.joinedAt !== undefined).sort(byJoin);
    for (const [i, offered] of joined.entries()) {
      if (offered.offeredAt === undefined) continue;
      const window = Date.parse(offered.expiresAt ?? '') - Date.parse(offered.offeredAt);
      if (!(window <= offerSeconds * 1000)) {
        violations.push(`line ${offered.holdId}: offered for ${window / 1000} s, the window is ${offerSeconds} s`);
      }
      for (const earlier of joined.slice(0, i)) {
        if (earlier.offeredAt !== undefined && earlier.offeredAt <= offered.offeredAt) continue;
        // Asked for more than this offer's units: what came back did not fit it, so the queue went on.
        if (earlier.quantity > offered.quantity) continue;
        if (earlier.status === 'removed' && earlier.updatedAt <= offered.offeredAt) continue;
        // Passed over for its buyer's limit: the queue dropped it before it went on to the next.
        if (earlier.status === 'removed' && earlier.refusedByLimit !== undefined) continue;
        violations.push(
          `line ${offered.holdId}: offered before ${earlier.holdId}, which joined ${sku}'s waitlist first`,
        );
      }
    }
    const waiting = joined.filter((l) => l.status === 'waitlisted');
    const totals = reportOf.get(sku)?.totals;
    const incoming = totals?.incoming ?? 0;
    const available = totals?.available ?? 0;
    // The first in join order among those asking the fewest: the one any incoming units would go to first.
    const smallest = waiting.reduce<CartLine | undefined>((m, l) => (!m || l.quantity < m.quantity ? l : m), undefined);
    if (!smallest && incoming > 0) violations.push(`${sku}: ${incoming} incoming, but nobody is on its waitlist`);
    if (smallest && available > 0) {
      violations.push(`${sku}: ${available} available while ${waiting.length} wait for it`);
    }
    if (smallest && incoming >= smallest.quantity) {
      violations.push(`${sku}: ${incoming} incoming, enough for ${smallest.holdId} on its waitlist`);
    }
  }
  return violations;
}
