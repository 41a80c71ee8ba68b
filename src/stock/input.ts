import { InvalidStockInputError } from './errors';

/** Checks of a caller's input, before anything is read or written. */

export function assertQuantity(qty: number) {
  if (!Number.isSafeInteger(qty) || qty <= 0) throw new InvalidStockInputError(`quantity must be a positive integer`);
}

export function assertOpId(opId: string) {
  if (typeof opId !== 'string' || opId.length === 0 || opId.length > 200) {
    throw new InvalidStockInputError('operation id must be 1..200 characters');
  }
}
