import type { AddToCartResult, CartLine } from './types';

/** What add-to-cart answered first for a line whose run has ended, from the line it ended with. */
export function firstAnswerOf(line: CartLine): AddToCartResult {
  if (line.status === 'pending' && line.holds.length === 0) {
    if (line.refusedByLimit !== undefined) {
      return { status: 'limit_reached', holdId: line.holdId, limit: line.refusedByLimit };
    }
    return { status: 'out_of_stock', holdId: line.holdId, available: 0 };
  }
  if (line.joinedAt !== undefined) return { status: 'waitlisted', holdId: line.holdId, quantity: line.quantity };
  if (line.expiresAt) {
    return { status: 'held', holdId: line.holdId, quantity: line.quantity, expiresAt: line.expiresAt };
  }
  return { status: 'backordered', holdId: line.holdId, quantity: line.quantity };
}
