import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection } from 'mongodb';
import { isDuplicateKey } from '../stock/ledger';

export interface ChargeRequest {
  /** The same key never charges twice (Stripe's Idempotency-Key). */
  readonly idempotencyKey: string;
  readonly amountCents: number;
  readonly token: string;
}

export interface Charge {
  readonly chargeId: string;
  readonly amountCents: number;
}

/** A card decline: a business outcome, never retried. */
export class CardDeclinedError extends Error {
  override readonly name = 'CardDeclinedError';
}

export interface PaymentGateway {
  /** Charges once per idempotency key; `signal` aborts a call the caller gave up on. */
  charge(request: ChargeRequest, signal?: AbortSignal): Promise<Charge>;
  /**
   * Refunds whatever the charge with this idempotency key took, if it took anything (a timed-out charge may or
   * may not have gone through). Refunding twice refunds once. Returns whether there was a charge.
   */
  refund(chargeIdempotencyKey: string): Promise<boolean>;
}

/** What the fake gateway stores: its own record of charges and refunds, like the provider's side. */
export interface GatewayRecord {
  readonly _id: string;
  readonly kind: 'charge' | 'refund';
  readonly chargeId: string;
  readonly amountCents: number;
  readonly at: Date;
}

/**
 * The built-in fake, after Stripe's test tokens: `tok_visa` succeeds, `tok_chargeDeclined` declines,
 * `tok_timeout` never answers within the activity's timeout. It keeps charges in its own collection keyed by
 * idempotency key (an insert, so a retried or concurrent charge returns the first one) and survives worker
 * restarts, so tests and the chaos run can count charges per order.
 */
export class FakePaymentGateway implements PaymentGateway {
  constructor(
    private readonly records: Collection<GatewayRecord>,
    private readonly timeoutMs = 10 * 60_000,
  ) {}

  async charge(request: ChargeRequest, signal?: AbortSignal): Promise<Charge> {
    if (request.token === 'tok_chargeDeclined') throw new CardDeclinedError('Your card was declined.');
    if (request.token === 'tok_timeout') {
      await sleep(this.timeoutMs, undefined, signal ? { signal } : {});
      throw new Error('payment gateway did not answer');
    }
    if (request.token !== 'tok_visa') throw new CardDeclinedError(`unknown test token ${request.token}`);
    const record: GatewayRecord = {
      _id: `charge:${request.idempotencyKey}`,
      kind: 'charge',
      chargeId: `ch_${request.idempotencyKey}`,
      amountCents: request.amountCents,
      at: new Date(),
    };
    try {
      await this.records.insertOne(record);
      return { chargeId: record.chargeId, amountCents: record.amountCents };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const first = await this.records.findOne({ _id: record._id });
      if (!first) throw err;
      return { chargeId: first.chargeId, amountCents: first.amountCents };
    }
  }

  async refund(chargeIdempotencyKey: string): Promise<boolean> {
    const charge = await this.records.findOne({ _id: `charge:${chargeIdempotencyKey}` });
    if (!charge) return false;
    try {
      await this.records.insertOne({
        _id: `refund:${chargeIdempotencyKey}`,
        kind: 'refund',
        chargeId: charge.chargeId,
        amountCents: charge.amountCents,
        at: new Date(),
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    return true;
  }
}
