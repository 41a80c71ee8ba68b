/**
 * The type of every Temporal failure holdfast raises or matches, one constant for workflows, activities and the
 * API's error mapper (the SDK names an activity's failure after its error's `name`, so a domain error class's
 * `name` is its type here). Nothing matches an error by its message.
 */
export const failureTypes = {
  // Domain errors of activities: business outcomes, never retried.
  unknownProduct: 'UnknownProductError',
  productConflict: 'ProductConflictError',
  insufficientStock: 'InsufficientStockError',
  invalidStockInput: 'InvalidStockInputError',
  cardDeclined: 'CardDeclinedError',
  chargeCancelled: 'ChargeCancelledError',
  unknownCartLine: 'UnknownCartLineError',
  // A hold's rejection of a change or a lock (an update's failure).
  lineBusy: 'LineBusy',
  lineLocked: 'LineLocked',
  lineNotPending: 'LineNotPending',
  // A checkout that failed for a reason of its own (its order's `reason` says which).
  checkoutFailed: 'CheckoutFailed',
} as const;

export type FailureType = (typeof failureTypes)[keyof typeof failureTypes];

/** The activities' domain errors: the retry policies' `nonRetryableErrorTypes`. */
export const nonRetryableErrorTypes: readonly FailureType[] = [
  failureTypes.unknownProduct,
  failureTypes.productConflict,
  failureTypes.insufficientStock,
  failureTypes.invalidStockInput,
  failureTypes.cardDeclined,
  failureTypes.chargeCancelled,
  failureTypes.unknownCartLine,
];
