/**
 * The operation ids under which the ledger's derived entries are written. Each key is unique per effect, and
 * the `{bucketId, opKey}` unique index turns that into "at most once": a retry or a racing twin finds the entry.
 */

/** Marks the state changes that put incoming units on general sale: bulk moves, not taking operations. */
export const releaseIncomingRef = 'incoming-to-available';
/** Marks the state changes that keep available units for backorders: bulk moves, not taking operations. */
export const holdForBackordersRef = 'available-to-incoming';

/** The key under which a hold (or a voided stray) is settled: one settle per hold per bucket. */
export function settleOpId(holdId: string): string {
  return `settle:${holdId}`;
}

/** The key of a release that shrinks a hold to `keep` units: a hold only shrinks, so one key per step. */
export function trimOpId(holdId: string, keep: number): string {
  return `${trimPrefixOf(holdId)}${keep}`;
}

/** What every trim key of a hold starts with. */
export function trimPrefixOf(holdId: string): string {
  return `trim:${holdId}:`;
}

/** The key of one transfer's two entries: by operation, source and target, so one transfer_out has one transfer_in. */
export function transferOpId(opId: string, from: number, to: number): string {
  return `${opId}:${from}>${to}`;
}
