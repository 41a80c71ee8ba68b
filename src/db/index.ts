export * from './schema';
export * from './shards';
