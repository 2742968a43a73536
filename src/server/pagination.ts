// Cursor pagination over lists that change while they are read (sessions come and go between two pages).
// The first page takes a snapshot of the keys (one array copy, ~1 ms for 100,000) and later pages slice it,
// so no page costs more than its own items; keys gone since the snapshot are skipped when a page is read.

import { randomBytes } from 'node:crypto';
import type { Page, PageRequest } from './broker-api.js';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
/** Listings kept for later pages at once; the least recently used goes first. */
const MAX_SNAPSHOTS = 32;
/** A listing nobody has paged for this long is forgotten (its cursor then starts over). */
const SNAPSHOT_TTL_MS = 5 * 60_000;

interface Snapshot {
  readonly keys: readonly unknown[];
  position: number;
  usedAt: number;
}

export class Paginator {
  private readonly snapshots = new Map<string, Snapshot>();

  /**
   * One page: `keys` is called only for a first page (or an unknown / expired cursor, which starts over);
   * `view` turns a key into an item, or undefined when it has gone since.
   */
  page<K, T>(request: PageRequest | undefined, keys: () => K[], view: (key: K) => T | undefined): Page<T> {
    const limit = Math.min(Math.max(1, Math.floor(request?.limit ?? DEFAULT_PAGE_LIMIT)), MAX_PAGE_LIMIT);
    const now = Date.now();
    this.expire(now);
    const cursor = request?.cursor;
    let snapshot = cursor === undefined ? undefined : this.snapshots.get(cursor);
    if (snapshot !== undefined && cursor !== undefined) this.snapshots.delete(cursor);
    else snapshot = { keys: keys(), position: 0, usedAt: now };
    const items: T[] = [];
    const all = snapshot.keys as readonly K[];
    let i = snapshot.position;
    for (; i < all.length && items.length < limit; i++) {
      const item = view(all[i]!);
      if (item !== undefined) items.push(item);
    }
    if (i >= all.length) return { items, cursor: undefined, total: all.length };
    snapshot.position = i;
    snapshot.usedAt = now;
    const next = randomBytes(12).toString('base64url');
    this.snapshots.set(next, snapshot);
    if (this.snapshots.size > MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value!);
    return { items, cursor: next, total: all.length };
  }

  private expire(now: number): void {
    for (const [cursor, s] of this.snapshots) {
      if (now - s.usedAt > SNAPSHOT_TTL_MS) this.snapshots.delete(cursor);
    }
  }
}
