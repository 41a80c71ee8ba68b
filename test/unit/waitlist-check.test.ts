import { describe, expect, it } from 'vitest';
import { waitlistViolations } from '../../src/ops/check-waitlists';
import type { CartLine } from '../../src/contract/types';
import { zeroBalances } from '../../src/stock/balances';
import type { InvariantReport } from '../../src/stock';

const sku = 'vinyl';
const products = [{ sku, offerSeconds: 60 }];
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString();

/** A waitlist line: joined at second `joined`; offered at `offered` for `window` seconds when given. */
function line(holdId: string, joined: number, changes: Partial<CartLine> & { offered?: number; window?: number } = {}) {
  const { offered, window = 60, ...rest } = changes;
  return {
    holdId,
    cartId: `cart-${holdId}`,
    sku,
    quantity: 1,
    status: offered === undefined ? 'waitlisted' : 'pending',
    holds: [],
    joinedAt: at(joined),
    ...(offered !== undefined ? { offeredAt: at(offered), expiresAt: at(offered + window) } : {}),
    rev: 1,
    updatedAt: at(offered ?? joined),
    ...rest,
  } as CartLine;
}

const stock = (incoming = 0, available = 0) =>
  new Map([[sku, { sku, totals: { ...zeroBalances, incoming, available } } as unknown as InvariantReport]]);

describe('system check rule 13: waitlists', () => {
  it('is clean for offers in join order, a line that left before the next offer, and units kept for the head', () => {
    const lines = [
      line('a', 1, { offered: 10 }),
      line('b', 2, { status: 'removed', updatedAt: at(5) }),
      line('c', 3, { offered: 10 }),
      line('d', 4, { quantity: 2 }),
    ];
    // One unit incoming: not enough for d's two.
    expect(waitlistViolations(products, lines, stock(1))).toEqual([]);
  });

  it('finds a waiter skipped: offered after a line that joined before it and still waits, or left later', () => {
    const skipped = waitlistViolations(products, [line('a', 1), line('b', 2, { offered: 10 })], stock());
    expect(skipped).toEqual([`line b: offered before a, which joined ${sku}'s waitlist first`]);
    const leftLater = [line('a', 1, { status: 'removed', updatedAt: at(11) }), line('b', 2, { offered: 10 })];
    expect(waitlistViolations(products, leftLater, stock())).toHaveLength(1);
  });

  it('finds an offer longer than its window', () => {
    expect(waitlistViolations(products, [line('a', 1, { offered: 10, window: 600 })], stock())).toEqual([
      'line a: offered for 600 s, the window is 60 s',
    ]);
  });

  it('finds stranded units: incoming with nobody waiting, available or enough for the head while some wait', () => {
    expect(waitlistViolations(products, [line('a', 1, { offered: 10 })], stock(1))).toEqual([
      `${sku}: 1 incoming, but nobody is on its waitlist`,
    ]);
    expect(waitlistViolations(products, [line('a', 1)], stock(0, 2))).toEqual([
      `${sku}: 2 available while 1 wait for it`,
    ]);
    expect(waitlistViolations(products, [line('a', 1)], stock(1))).toEqual([
      `${sku}: 1 incoming, enough for a on its waitlist`,
    ]);
    // A big head does not keep units from a smaller waiter after it.
    expect(waitlistViolations(products, [line('a', 1, { quantity: 3 }), line('b', 2)], stock(2))).toEqual([
      `${sku}: 2 incoming, enough for b on its waitlist`,
    ]);
  });

  it('lets an offer pass over an earlier waiter that asked for more, or one its limit refused', () => {
    const lines = [
      line('a', 1, { quantity: 3 }),
      line('b', 2, { status: 'removed', refusedByLimit: 1, updatedAt: at(20) }),
      line('c', 3, { offered: 10 }),
    ];
    expect(waitlistViolations(products, lines, stock(0))).toEqual([]);
    // An earlier waiter that asked for as few is not passed over.
    const same = [line('a', 1, { quantity: 1 }), line('c', 3, { quantity: 1, offered: 10 })];
    expect(waitlistViolations(products, same, stock(0))).toHaveLength(1);
  });

  it('leaves products without a waitlist to the other rules', () => {
    expect(waitlistViolations([{ sku }], [line('a', 1)], stock(5, 5))).toEqual([]);
  });
});
