import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyMovement,
  inverseOf,
  movableStates,
  unitsAccountedFor,
  unitsInStates,
  zeroBalances,
  type Balances,
  type Movement,
  type ReceivingState,
  type UnitState,
} from '../../src/stock/balances';

const qty = fc.integer({ min: 1, max: 50 });
const movableState = fc.constantFrom(...movableStates);
const receivingState = fc.constantFrom<ReceivingState>('available', 'incoming');
const optional = { requiredKeys: ['kind', 'qty'] as ('kind' | 'qty')[] };

/** Any movement, including state changes whose from and to are the same (which must be refused). */
const movement: fc.Arbitrary<Movement> = fc.oneof(
  fc.record({ kind: fc.constant('commit'), qty }),
  fc.record({ kind: fc.constant('transfer_out'), qty, from: receivingState }, optional),
  fc.record({ kind: fc.constant('transfer_in'), qty, to: receivingState }, optional),
  fc.record({ kind: fc.constant('receive'), qty, to: receivingState }, optional),
  fc.record({ kind: fc.constant('reserve'), qty, from: receivingState }, optional),
  fc.record({ kind: fc.constant('release'), qty, to: receivingState }, optional),
  fc.record({ kind: fc.constant('state_change'), qty, from: movableState, to: movableState }),
) as fc.Arbitrary<Movement>;

/** Any non-negative balances, consistent or not. */
const balances: fc.Arbitrary<Balances> = fc.record(
  Object.fromEntries(Object.keys(zeroBalances).map((k) => [k, fc.nat({ max: 60 })])) as Record<
    keyof Balances,
    fc.Arbitrary<number>
  >,
);

/** The state a movement takes units out of, if it takes any. */
function sourceOf(m: Movement): UnitState | undefined {
  switch (m.kind) {
    case 'reserve':
    case 'transfer_out':
      return m.from ?? 'available';
    case 'release':
    case 'commit':
      return 'held';
    case 'state_change':
      return m.from;
    default:
      return undefined;
  }
}

describe('applyMovement', () => {
  it('refuses exactly the movements that would take a balance below zero, and never mutates its input', () => {
    fc.assert(
      fc.property(balances, movement, (b, m) => {
        const before = { ...b };
        const next = applyMovement(b, m);
        const source = sourceOf(m);
        const selfMove = m.kind === 'state_change' && m.from === m.to;
        expect(next === undefined).toBe(selfMove || (source !== undefined && b[source] < m.qty));
        if (next) expect(Object.values(next).every((v) => v >= 0)).toBe(true);
        expect(b).toEqual(before);
      }),
    );
  });

  const start: Balances = {
    available: 10,
    incoming: 4,
    held: 2,
    sold: 1,
    returned: 0,
    repair: 0,
    damaged: 1,
    received: 14,
    transferredIn: 2,
    transferredOut: 1,
  };
  it.each<[Movement, Partial<Balances>]>([
    [
      { kind: 'receive', qty: 3 },
      { available: 13, received: 17 },
    ],
    [
      { kind: 'receive', qty: 3, to: 'incoming' },
      { incoming: 7, received: 17 },
    ],
    [
      { kind: 'reserve', qty: 3 },
      { available: 7, held: 5 },
    ],
    [
      { kind: 'reserve', qty: 3, from: 'incoming' },
      { incoming: 1, held: 5 },
    ],
    [
      { kind: 'release', qty: 2 },
      { available: 12, held: 0 },
    ],
    [
      { kind: 'release', qty: 2, to: 'incoming' },
      { incoming: 6, held: 0 },
    ],
    [
      { kind: 'commit', qty: 2 },
      { held: 0, sold: 3 },
    ],
    [
      { kind: 'transfer_out', qty: 4 },
      { available: 6, transferredOut: 5 },
    ],
    [
      { kind: 'transfer_in', qty: 4 },
      { available: 14, transferredIn: 6 },
    ],
    [
      { kind: 'transfer_out', qty: 4, from: 'incoming' },
      { incoming: 0, transferredOut: 5 },
    ],
    [
      { kind: 'transfer_in', qty: 4, to: 'incoming' },
      { incoming: 8, transferredIn: 6 },
    ],
    [
      { kind: 'state_change', qty: 1, from: 'damaged', to: 'repair' },
      { damaged: 0, repair: 1 },
    ],
  ])('applies %o to the balances it names only', (m, changed) => {
    expect(applyMovement(start, m)).toEqual({ ...start, ...changed });
  });

  it('keeps units in states equal to units accounted for, and every balance non-negative, over any sequence', () => {
    fc.assert(
      fc.property(fc.array(movement, { maxLength: 40 }), (movements) => {
        let b: Balances = { ...zeroBalances };
        for (const m of movements) {
          b = applyMovement(b, m) ?? b;
          expect(unitsInStates(b)).toBe(unitsAccountedFor(b));
          expect(Object.values(b).every((v) => v >= 0)).toBe(true);
        }
      }),
    );
  });
});

describe('inverseOf', () => {
  const invertible: fc.Arbitrary<Movement> = fc.oneof(
    fc.record({ kind: fc.constant('reserve' as const), qty, from: receivingState }, optional),
    fc
      .record({ kind: fc.constant('state_change' as const), qty, from: movableState, to: movableState })
      .filter((m) => m.from !== m.to),
  );

  it('undoes a reservation or a state change exactly', () => {
    fc.assert(
      fc.property(balances, invertible, (b, m) => {
        const taken = applyMovement(b, m);
        fc.pre(taken !== undefined);
        expect(applyMovement(taken!, inverseOf(m))).toEqual(b);
      }),
    );
  });

  it('is its own inverse for state changes and releases a reservation to the state it came from', () => {
    fc.assert(
      fc.property(invertible, (m) => {
        const back = inverseOf(m);
        if (m.kind === 'state_change') expect(inverseOf(back)).toEqual(m);
        else {
          expect(back).toMatchObject({ kind: 'release', qty: m.qty });
          expect(back.kind === 'release' && (back.to ?? 'available')).toBe(
            m.kind === 'reserve' && (m.from ?? 'available'),
          );
        }
      }),
    );
  });

  it.each<Movement['kind']>(['receive', 'release', 'commit', 'transfer_out', 'transfer_in'])(
    'refuses to invert %s',
    (kind) => {
      expect(() => inverseOf({ kind, qty: 1 } as Movement)).toThrow(/has no inverse/);
    },
  );
});
