import { createHash } from 'node:crypto';

/** A stable 32-bit hash of a string (the first bytes of its SHA-1); the same on every process and machine. */
export function stableHash(value: string): number {
  return createHash('sha1').update(value).digest().readUInt32BE(0);
}

export function shardOf(key: string, shards: number): number {
  return stableHash(key) % shards;
}

/** A fixed-length id-safe digest of a string (SHA-256, base64url, 132 bits): to put a caller's key into ids. */
export function idDigest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}
