import { describe, expect, it } from 'vitest';
import { skuPatternSource } from '../../src/contract/http';
import { skuPattern } from '../../src/stock/placement';

// The stock library and the contract may not import each other, so each writes the pattern down once.
describe('the SKU pattern', () => {
  it('is the same in the HTTP contract and in the stock library', () => {
    expect(skuPattern.source).toBe(skuPatternSource);
    expect(skuPattern.flags).toBe('');
  });
});
