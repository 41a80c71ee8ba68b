/** Domain errors of the stock library. Each sets `name` explicitly: Temporal matches failures by name. */

export class UnknownProductError extends Error {
  override readonly name = 'UnknownProductError';
  constructor(readonly sku: string) {
    super(`unknown product ${sku}`);
  }
}

export class ProductConflictError extends Error {
  override readonly name = 'ProductConflictError';
  constructor(readonly sku: string) {
    super(`product ${sku} already exists with a different definition`);
  }
}

export class InsufficientStockError extends Error {
  override readonly name = 'InsufficientStockError';
  constructor(
    readonly sku: string,
    readonly state: string,
    readonly qty: number,
  ) {
    super(`${sku}: fewer than ${qty} units are ${state}`);
  }
}

export class InvalidStockInputError extends Error {
  override readonly name = 'InvalidStockInputError';
}
