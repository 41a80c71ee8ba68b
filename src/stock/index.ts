export * from './balances';
export * from './errors';
export * from './invariants';
export * from './ledger';
export * from './placement';
export * from './rebalance';
export * from './stock-service';
export * from './types';
