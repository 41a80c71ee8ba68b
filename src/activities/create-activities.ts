import type { ShardSet } from '../db';

export interface ActivityDeps {
  readonly shards: ShardSet;
}

/** Builds the activities from injected clients, so tests run them against real servers. */
export function createActivities(_deps: ActivityDeps) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;
