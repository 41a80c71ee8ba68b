import { applyMovement, sameBalances, zeroBalances, type Balances } from './balances';
import { skuOfAllowance } from './allowances';
import { settleOpId, trimPrefixOf } from './op-keys';
import type { LedgerEntry } from './types';

/** One hold's allowance as its bucket's ledger tells it. */
export interface AllowanceHold {
  readonly holdId: string;
  /** Units reserved, less its trims. */
  readonly qty: number;
  readonly state: 'open' | 'released' | 'committed';
}

/** One allowance bucket replayed from its genesis. */
export interface AllowanceReport {
  readonly bucketId: string;
  readonly sku: string;
  /** What the bucket opened with: the product's maxPerCustomer. */
  readonly limit: number;
  readonly balances: Balances;
  readonly holds: ReadonlyMap<string, AllowanceHold>;
  readonly violations: string[];
}

/**
 * Replays allowance ledgers (entries of any number of buckets): seqs without gaps from a genesis that receives
 * the limit, every balance as recorded and never below zero, each hold reserved once, trimmed only while open,
 * settled once with what its trims left; held = Σ open holds and sold = Σ committed ones.
 */
export function replayAllowances(entries: readonly LedgerEntry[]): AllowanceReport[] {
  const byBucket = new Map<string, LedgerEntry[]>();
  for (const e of entries) {
    const list = byBucket.get(e.bucketId);
    if (list) list.push(e);
    else byBucket.set(e.bucketId, [e]);
  }
  return [...byBucket.entries()].map(([bucketId, list]) => replayOne(bucketId, list));
}

function replayOne(bucketId: string, list: LedgerEntry[]): AllowanceReport {
  const violations: string[] = [];
  const holds = new Map<string, { qty: number; state: AllowanceHold['state'] }>();
  let balances: Balances = { ...zeroBalances };
  list.sort((a, b) => a.seq - b.seq);
  list.forEach((e, i) => {
    if (e.seq !== i) violations.push(`seq ${e.seq} where ${i} was due`);
    if ((i === 0) !== (e.kind === 'receive')) violations.push(`seq ${e.seq}: ${e.kind} (only the genesis receives)`);
    const next = applyMovement(balances, e.movement);
    if (!next) {
      violations.push(`seq ${e.seq}: ${e.kind} of ${e.qty} takes a balance below zero`);
      return;
    }
    balances = next;
    if (!sameBalances(e.balances, balances)) {
      violations.push(`seq ${e.seq}: recorded balances differ from the replay`);
    }
    const holdId = e.ref ?? e.opId;
    const hold = holds.get(holdId);
    if (e.kind === 'reserve') {
      if (hold) violations.push(`hold ${holdId}: reserved twice`);
      else holds.set(holdId, { qty: e.qty, state: 'open' });
    } else if (e.kind === 'release' && e.opId.startsWith(trimPrefixOf(holdId))) {
      const keep = Number(e.opId.slice(trimPrefixOf(holdId).length));
      if (hold?.state !== 'open' || hold.qty - e.qty !== keep) {
        violations.push(
          `hold ${holdId}: trim to ${keep} of a hold ${hold ? `${hold.state} with ${hold.qty}` : 'never reserved'}`,
        );
      } else hold.qty = keep;
    } else if ((e.kind === 'release' || e.kind === 'commit') && e.opId === settleOpId(holdId)) {
      if (hold?.state !== 'open' || hold.qty !== e.qty) {
        violations.push(
          `hold ${holdId}: ${e.kind} of ${e.qty} for a hold ${hold ? `${hold.state} with ${hold.qty}` : 'never reserved'}`,
        );
      } else hold.state = e.kind === 'commit' ? 'committed' : 'released';
    } else if (i > 0) violations.push(`seq ${e.seq}: unexpected ${e.kind} ${e.opId}`);
  });
  const all = [...holds.entries()].map(([holdId, h]) => ({ holdId, ...h }));
  const sum = (state: AllowanceHold['state']) => all.filter((h) => h.state === state).reduce((n, h) => n + h.qty, 0);
  if (balances.held !== sum('open')) violations.push(`held ${balances.held}, open holds ${sum('open')}`);
  if (balances.sold !== sum('committed')) violations.push(`sold ${balances.sold}, committed holds ${sum('committed')}`);
  return {
    bucketId,
    sku: skuOfAllowance(bucketId),
    limit: list[0]?.kind === 'receive' ? list[0].qty : 0,
    balances,
    holds: new Map(all.map((h) => [h.holdId, h])),
    violations,
  };
}
