import { describe, expect, it } from 'vitest';
import { allowanceBucketId, skuOfAllowance } from '../../src/stock/allowances';
import { replayAllowances } from '../../src/stock/allowance-check';
import { applyMovement, zeroBalances, type Balances, type Movement } from '../../src/stock/balances';
import { entryId, opKeyOf } from '../../src/stock/ledger';
import { settleOpId, trimOpId } from '../../src/stock/op-keys';
import type { LedgerEntry } from '../../src/stock/types';

const bucketId = allowanceBucketId('sku-1', { cartId: 'c1', customerId: 'alice' });

/** A bucket's entries as the ledger would write them: balances applied in order (a refused one keeps them). */
function ledger(...steps: [opId: string, movement: Movement, ref?: string][]): LedgerEntry[] {
  let balances: Balances = { ...zeroBalances };
  return steps.map(([opId, movement, ref], seq) => {
    balances = applyMovement(balances, movement) ?? balances;
    return {
      _id: entryId(bucketId, seq),
      slot: 0,
      bucketId,
      sku: 'sku-1',
      seq,
      opId,
      opKey: opKeyOf(bucketId, opId),
      kind: movement.kind,
      qty: movement.qty,
      movement,
      ...(ref !== undefined ? { ref } : {}),
      balances,
      at: new Date(0),
    };
  });
}

describe('allowance ids', () => {
  it('hash the buyer: a customer over all carts, an anonymous cart alone', () => {
    const other = allowanceBucketId('sku-1', { cartId: 'c2', customerId: 'alice' });
    expect(other).toBe(bucketId);
    expect(allowanceBucketId('sku-1', { cartId: 'c1' })).not.toBe(allowanceBucketId('sku-1', { cartId: 'c2' }));
    expect(allowanceBucketId('sku-1', { cartId: 'alice' })).not.toBe(bucketId);
    expect(bucketId).not.toContain('alice');
    expect(bucketId).toMatch(/^allow:sku-1:[A-Za-z0-9_-]{22}$/);
    expect(skuOfAllowance(bucketId)).toBe('sku-1');
  });
});

describe('replayAllowances', () => {
  it('accepts reserve, trim, release and commit, and reports what stays open and bought', () => {
    const [report] = replayAllowances(
      ledger(
        ['open', { kind: 'receive', qty: 4 }],
        ['h1', { kind: 'reserve', qty: 2 }, 'h1'],
        [trimOpId('h1', 1), { kind: 'release', qty: 1 }, 'h1'],
        ['h2', { kind: 'reserve', qty: 2 }, 'h2'],
        [settleOpId('h2'), { kind: 'commit', qty: 2 }, 'h2'],
        ['h3', { kind: 'reserve', qty: 1 }, 'h3'],
        [settleOpId('h3'), { kind: 'release', qty: 1 }, 'h3'],
      ),
    );
    expect(report!.violations).toEqual([]);
    expect(report!.limit).toBe(4);
    expect(report!.balances).toMatchObject({ available: 1, held: 1, sold: 2 });
    expect([...report!.holds.values()]).toEqual([
      { holdId: 'h1', qty: 1, state: 'open' },
      { holdId: 'h2', qty: 2, state: 'committed' },
      { holdId: 'h3', qty: 1, state: 'released' },
    ]);
  });

  it('reports a settle of another quantity, a second settle, a gap and a reservation past the limit', () => {
    const entries = ledger(
      ['open', { kind: 'receive', qty: 2 }],
      ['h1', { kind: 'reserve', qty: 2 }, 'h1'],
      [settleOpId('h1'), { kind: 'release', qty: 1 }, 'h1'],
      [settleOpId('h1'), { kind: 'release', qty: 1 }, 'h1'],
      ['h2', { kind: 'reserve', qty: 5 }, 'h2'],
    );
    const violations = replayAllowances([...entries.slice(0, 2), ...entries.slice(3)])[0]!.violations;
    expect(violations).toEqual(
      expect.arrayContaining([
        'seq 3 where 2 was due',
        'hold h1: release of 1 for a hold open with 2',
        'seq 4: reserve of 5 takes a balance below zero',
      ]),
    );
  });
});
