import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Shopper tokens: `<cartId>.<HMAC-SHA256(secret, cartId)>`, base64url. Bound to one cart, unguessable without
 * the secret, checked without any lookup.
 */
export class CartTokens {
  constructor(private readonly secret: string) {}

  issue(cartId: string): string {
    return `${cartId}.${this.sign(cartId)}`;
  }

  /** The cart a token is for, or undefined when the token is not one of ours. */
  verify(token: string): string | undefined {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const cartId = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.sign(cartId));
    return given.length === expected.length && timingSafeEqual(given, expected) ? cartId : undefined;
  }

  private sign(cartId: string): string {
    return createHmac('sha256', this.secret).update(cartId).digest('base64url');
  }
}

/** Compares two secrets in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
