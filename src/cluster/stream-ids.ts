// Redis stream entry ids ("<ms>-<seq>"): the next one, their order; and the blocking read of one stream.

import type { RedisClient } from './redis-connect.js';

/** Entries of one stream after `last`, as XREAD BLOCK returns them (null when none came within `blockMs`). */
export type StreamReply = [Buffer, [Buffer, Buffer[]][]][] | null;

/** XREAD of at most `count` entries of `key` after `last`, blocking up to `blockMs` on `conn`. */
export function readAfter(
  conn: RedisClient,
  key: string,
  last: string,
  count: number,
  blockMs: number,
): Promise<StreamReply> {
  return conn.callBuffer(
    'XREAD',
    'COUNT',
    count,
    'BLOCK',
    blockMs,
    'STREAMS',
    key,
    last,
  ) as Promise<StreamReply>;
}

/** The stream id right after `id` (XTRIM MINID keeps ids >= its argument). */
export function nextId(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}

/** True when entry id `a` comes before `b` in a stream. */
export function idBefore(a: string, b: string): boolean {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const ma = BigInt(a.slice(0, da));
  const mb = BigInt(b.slice(0, db));
  if (ma !== mb) return ma < mb;
  return BigInt(a.slice(da + 1)) < BigInt(b.slice(db + 1));
}
