import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a shopper's token grants: one cart, and the customer the cart was bound to at creation, if any. */
export interface CartClaim {
  readonly cartId: string;
  readonly customerId?: string;
}

/** Separates a bound cart's id from its customer in a token (neither our cart ids nor base64url contain it). */
const customerSeparator = '~';

/**
 * Shopper tokens: `<cartId>.<HMAC-SHA256(secret, cartId)>`, or for a cart bound to a customer
 * `<cartId>~<customerId, base64url>.<HMAC of both>`, base64url. Bound to one cart (and its customer, which the
 * holder cannot change), unguessable without the secret, checked without any lookup.
 */
export class CartTokens {
  constructor(private readonly secret: string) {}

  issue(cartId: string, customerId?: string): string {
    const payload =
      customerId === undefined
        ? cartId
        : `${cartId}${customerSeparator}${Buffer.from(customerId).toString('base64url')}`;
    return `${payload}.${this.sign(payload)}`;
  }

  /** The cart a token is for, or undefined when the token is not one of ours. */
  verify(token: string): string | undefined {
    return this.claim(token)?.cartId;
  }

  /** The cart and customer a token is for, or undefined when the token is not one of ours. */
  claim(token: string): CartClaim | undefined {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.sign(payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const sep = payload.indexOf(customerSeparator);
    if (sep < 0) return { cartId: payload };
    return {
      cartId: payload.slice(0, sep),
      customerId: Buffer.from(payload.slice(sep + 1), 'base64url').toString(),
    };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}

/** Compares two secrets in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
