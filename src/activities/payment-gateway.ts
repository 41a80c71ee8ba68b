import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection } from 'mongodb';
import { failureTypes } from '../contract/failures';
import { insertOnce } from '../db';

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
  override readonly name = failureTypes.cardDeclined;
}

/** The key was cancelled by a refund before any charge went through: nothing is or ever will be charged. */
export class ChargeCancelledError extends Error {
  override readonly name = failureTypes.chargeCancelled;
}

/**
 * A payment provider, one payment per idempotency key, with PaymentIntent semantics: a key's payment ends
 * either charged (and maybe refunded) or cancelled, and once cancelled it can never be charged.
 *
 * The contract this assumes of a real provider (Stripe): `charge` creates and confirms a PaymentIntent with the
 * key as its Idempotency-Key; `refund` finds that PaymentIntent and refunds it if it succeeded, or cancels it
 * if it did not (yet), after which Stripe refuses to confirm it; a PaymentIntent still `processing` can be
 * neither, so `refund` fails (retryably) until it is. A charge attempt that answers after the caller gave up
 * therefore either landed before the refund, and is refunded, or is refused.
 */
export interface PaymentGateway {
  /** Charges once per idempotency key; `signal` asks to abort a call the caller gave up on. */
  charge(request: ChargeRequest, signal?: AbortSignal): Promise<Charge>;
  /**
   * Settles the key's payment for good: refunds its charge if one went through (refunding twice refunds once)
   * and returns true; otherwise cancels the key, so that no charge attempt still in flight can land, and
   * returns false.
   */
  refund(chargeIdempotencyKey: string): Promise<boolean>;
}

/** A charge, in the key's slot `charge:<key>`. */
export interface ChargeRecord {
  readonly _id: string;
  readonly kind: 'charge';
  readonly chargeId: string;
  readonly amountCents: number;
  readonly at: Date;
}

/** A refund of the key's charge, `refund:<key>`. */
export interface RefundRecord {
  readonly _id: string;
  readonly kind: 'refund';
  readonly chargeId: string;
  readonly amountCents: number;
  readonly at: Date;
}

/** The key's slot `charge:<key>` taken by a refund before any charge: no money moved. */
export interface CancelRecord {
  readonly _id: string;
  readonly kind: 'cancel';
  readonly at: Date;
}

/** What the fake gateway stores: its own record of charges, refunds and cancellations, like the provider's side. */
export type GatewayRecord = ChargeRecord | RefundRecord | CancelRecord;

/**
 * The built-in fake, after Stripe's test tokens: `tok_visa` succeeds, `tok_chargeDeclined` declines,
 * `tok_timeout` never answers within the activity's timeout, `tok_late` answers only after `timeoutMs` and
 * charges then anyway, whatever the abort signal said (a provider that finished a charge after we gave up).
 * It keeps its records in its own collection and survives worker restarts, so tests and the chaos run can
 * count charges per order.
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
    if (request.token === 'tok_late') await sleep(this.timeoutMs);
    else if (request.token !== 'tok_visa') throw new CardDeclinedError(`unknown test token ${request.token}`);
    const slot = await this.claim({
      _id: chargeSlot(request.idempotencyKey),
      kind: 'charge',
      chargeId: `ch_${request.idempotencyKey}`,
      amountCents: request.amountCents,
      at: new Date(),
    });
    if (slot.kind !== 'charge') throw new ChargeCancelledError(`payment ${request.idempotencyKey} was cancelled`);
    return { chargeId: slot.chargeId, amountCents: slot.amountCents };
  }

  async refund(chargeIdempotencyKey: string): Promise<boolean> {
    const slot = await this.claim({ _id: chargeSlot(chargeIdempotencyKey), kind: 'cancel', at: new Date() });
    if (slot.kind !== 'charge') return false;
    const refund: RefundRecord = {
      _id: `refund:${chargeIdempotencyKey}`,
      kind: 'refund',
      chargeId: slot.chargeId,
      amountCents: slot.amountCents,
      at: new Date(),
    };
    await insertOnce(this.records, refund, 'ignore');
    return true;
  }

  /**
   * Inserts a charge or a cancellation into the key's slot, or returns what is there: one of the two is the
   * key's outcome for good, since only an insert on the unique `_id` may fill the slot and nothing changes it.
   */
  private async claim(record: ChargeRecord | CancelRecord): Promise<ChargeRecord | CancelRecord> {
    const { stands } = await insertOnce(this.records, record, 'read');
    if (!stands || stands.kind === 'refund') {
      throw new Error(`payment slot ${record._id} holds neither a charge nor a cancellation`); // never a refund
    }
    return stands;
  }
}

function chargeSlot(idempotencyKey: string): string {
  return `charge:${idempotencyKey}`;
}
