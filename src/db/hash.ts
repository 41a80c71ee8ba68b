import { createHash } from 'node:crypto';

/** A stable 32-bit hash of a string (the first bytes of its SHA-1); the same on every process and machine. */
export function stableHash(value: string): number {
  return createHash('sha1').update(value).digest().readUInt32BE(0);
}

export function shardOf(key: string, shards: number): number {
  return stableHash(key) % shards;
}
