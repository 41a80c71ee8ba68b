import type { Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CardDeclinedError,
  ChargeCancelledError,
  FakePaymentGateway,
  type GatewayRecord,
} from '../src/activities/payment-gateway';
import { collections, type ShardSet } from '../src/db';
import { checkSystem } from '../src/ops/check-system';
import { StockService } from '../src/stock';
import { connectTestShards, uniqueId } from './helpers';

/** How long `tok_late` takes to answer here: long after the caller gave up, short enough for a test. */
const lateMs = 300;

/**
 * The fake provider against real FerretDB: a refund claims the key's charge slot when no charge has, so a
 * charge attempt that lands after the caller gave up can never stand on a failed order.
 */
describe('FakePaymentGateway: a refund settles the charge attempt for good', () => {
  let shards: ShardSet;
  let records: Collection<GatewayRecord>;
  let gateway: FakePaymentGateway;

  beforeAll(async () => {
    shards = await connectTestShards();
    records = shards.cartsDb(0).collection<GatewayRecord>(collections.carts.gateway);
    gateway = new FakePaymentGateway(records, lateMs);
  });
  afterAll(async () => {
    await shards?.close();
  });

  const charge = (key: string, token = 'tok_visa', signal?: AbortSignal) =>
    gateway.charge({ idempotencyKey: key, amountCents: 1250, token }, signal);
  async function kindsOf(key: string) {
    const found = await records.find({ _id: { $in: [`charge:${key}`, `refund:${key}`] } }).toArray();
    return found.map((r) => r.kind).sort();
  }

  /** A charge the caller gave up on at once: the abort reaches a provider that goes on anyway. */
  function abandonedLateCharge(key: string) {
    const gaveUp = new AbortController();
    const late = charge(key, 'tok_late', gaveUp.signal);
    gaveUp.abort();
    return late;
  }

  it('a refund before a late charge cancels the key: the charge is refused and no money moves', async () => {
    const key = uniqueId('order');
    const late = abandonedLateCharge(key);
    const lateOutcome = late.catch((e: unknown) => e);
    expect(await gateway.refund(key)).toBe(false);
    const refused = await lateOutcome;
    expect(refused).toBeInstanceOf(ChargeCancelledError);
    expect((refused as Error).name).toBe('ChargeCancelledError');
    expect(await kindsOf(key)).toEqual(['cancel']);
    // Later charges and refunds under the key change nothing.
    await expect(charge(key)).rejects.toBeInstanceOf(ChargeCancelledError);
    expect(await gateway.refund(key)).toBe(false);
    expect(await kindsOf(key)).toEqual(['cancel']);
  });

  it('a late charge that landed before the refund is refunded', async () => {
    const key = uniqueId('order');
    const landed = await abandonedLateCharge(key);
    expect(landed).toEqual({ chargeId: `ch_${key}`, amountCents: 1250 });
    expect(await gateway.refund(key)).toBe(true);
    expect(await gateway.refund(key)).toBe(true);
    expect(await kindsOf(key)).toEqual(['charge', 'refund']);
    expect(await records.findOne({ _id: `refund:${key}` })).toMatchObject({ chargeId: `ch_${key}`, amountCents: 1250 });
  });

  it('a declined card, then the refund, cancels the key', async () => {
    const key = uniqueId('order');
    await expect(charge(key, 'tok_chargeDeclined')).rejects.toBeInstanceOf(CardDeclinedError);
    expect(await gateway.refund(key)).toBe(false);
    await expect(charge(key)).rejects.toBeInstanceOf(ChargeCancelledError);
    expect(await kindsOf(key)).toEqual(['cancel']);
  });

  it('concurrent twins: charges and refunds of one key agree on one outcome', async () => {
    for (let round = 0; round < 8; round++) {
      const key = uniqueId('order');
      const settled = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? charge(key) : gateway.refund(key))),
      );
      const charges = settled.filter((_, i) => i % 2 === 0);
      const refunds = settled.filter((_, i) => i % 2 === 1);
      const kinds = await kindsOf(key);
      if (kinds[0] === 'cancel') {
        // The refund won the slot: nothing was charged, every charge is refused, every refund says so.
        expect(kinds).toEqual(['cancel']);
        for (const c of charges)
          expect(c).toMatchObject({ status: 'rejected', reason: expect.any(ChargeCancelledError) });
        for (const r of refunds) expect(r).toEqual({ status: 'fulfilled', value: false });
      } else {
        // A charge won: one charge, every charge returns it, and it was refunded once.
        expect(kinds).toEqual(['charge', 'refund']);
        for (const c of charges) {
          expect(c).toEqual({ status: 'fulfilled', value: { chargeId: `ch_${key}`, amountCents: 1250 } });
        }
        for (const r of refunds) expect(r).toEqual({ status: 'fulfilled', value: true });
      }
    }
  });

  it('concurrent twin charges charge once; concurrent twin refunds of nothing cancel once', async () => {
    const charged = uniqueId('order');
    const charges = await Promise.all(Array.from({ length: 10 }, () => charge(charged)));
    expect(new Set(charges.map((c) => c.chargeId))).toEqual(new Set([`ch_${charged}`]));
    expect(await kindsOf(charged)).toEqual(['charge']);

    const cancelled = uniqueId('order');
    expect(await Promise.all(Array.from({ length: 10 }, () => gateway.refund(cancelled)))).toEqual(
      Array.from({ length: 10 }, () => false),
    );
    expect(await kindsOf(cancelled)).toEqual(['cancel']);
  });

  it('a cancellation is not a charge to anyone counting records by kind', async () => {
    const own = await connectTestShards();
    try {
      const ownGateway = new FakePaymentGateway(own.cartsDb(0).collection(collections.carts.gateway), lateMs);
      expect(await ownGateway.refund(uniqueId('order'))).toBe(false);
      const report = await checkSystem(new StockService(own), own);
      expect(report.violations).toEqual([]);
      expect(report.counts).toMatchObject({ charges: 0, refunds: 0 });
    } finally {
      await own.close();
    }
  });
});
