import { describe, expect, it } from 'vitest';
import { CardDeclinedError, ChargeCancelledError } from '../../src/activities/payment-gateway';
import { failureTypes, nonRetryableErrorTypes } from '../../src/contract/failures';
import {
  InsufficientStockError,
  InvalidStockInputError,
  ProductConflictError,
  UnknownProductError,
} from '../../src/stock/errors';

describe('failure types', () => {
  it('name every domain error class as the SDK will (its name is its failure type)', () => {
    const errors = [
      new UnknownProductError('x'),
      new ProductConflictError('x'),
      new InsufficientStockError('x', 'available', 1),
      new InvalidStockInputError('x'),
      new CardDeclinedError('x'),
      new ChargeCancelledError('x'),
    ];
    for (const err of errors) expect(nonRetryableErrorTypes).toContain(err.name);
    expect(new UnknownProductError('x').name).toBe(failureTypes.unknownProduct);
  });

  it('give each type one name', () => {
    const names = Object.values(failureTypes);
    expect(new Set(names).size).toBe(names.length);
  });
});
