export * from './schema';
export * from './shards';
export * from './insert-once';
export * from './gallop';
export * from './shard-keys';
