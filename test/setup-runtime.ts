import { afterAll, expect } from 'vitest';
import { shardKeyProblems } from './helpers';
import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log warnings and errors only; a failing test prints what matters.
Runtime.install({ logger: new DefaultLogger('WARN') });

// Every command a test file sends must be one mongos can route by its shard key (src/db/shard-keys.ts).
afterAll(() => {
  expect([...shardKeyProblems]).toEqual([]);
});
