export * from './schema';
export * from './shards';
export * from './cart-lines';
export * from './guarded-write';
export * from './insert-once';
