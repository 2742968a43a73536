// A session's subscriptions keyed by filter as the client sent it. A Map of 20 entries takes ~1.6 KiB of table
// (heap snapshot of 5,000 clients x 20 subscriptions), a list of them ~0.2 KiB; most clients have a few
// subscriptions, so they are kept in a list, looked up by a scan, and only a large set gets a Map.

import type { SubscriptionEntry } from './subscription.js';

/** Above this many subscriptions a session's are kept in a Map (a scan of 32 short strings costs well under 1 µs). */
const LIST_LIMIT = 32;

/** The part of Map's interface the broker uses; the key is always the entry's `filter`. */
export class SubscriptionSet {
  private list: SubscriptionEntry[] = [];
  private map: Map<string, SubscriptionEntry> | null = null;

  /** Kept as a field: Router.match reads it (through Session.subscriptionCount) for every matched subscriber. */
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(filter: string): SubscriptionEntry | undefined {
    if (this.map !== null) return this.map.get(filter);
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (list[i]!.filter === filter) return list[i];
    return undefined;
  }

  has(filter: string): boolean {
    return this.get(filter) !== undefined;
  }

  set(filter: string, entry: SubscriptionEntry): this {
    if (this.map !== null) {
      this.map.set(filter, entry);
      this.count = this.map.size;
      return this;
    }
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.filter === filter) {
        list[i] = entry;
        return this;
      }
    }
    // concat allocates at the exact length: push() would give 20 entries room for 41.
    this.count++;
    if (list.length < LIST_LIMIT) this.list = list.concat([entry]);
    else {
      this.map = new Map();
      for (const e of list) this.map.set(e.filter, e);
      this.map.set(filter, entry);
      this.list = [];
    }
    return this;
  }

  delete(filter: string): boolean {
    if (this.map !== null) {
      const deleted = this.map.delete(filter);
      this.count = this.map.size;
      return deleted;
    }
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.filter === filter) {
        list.splice(i, 1);
        this.count--;
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.map = null;
    this.list = [];
    this.count = 0;
  }

  /** In insertion order, as a Map's. */
  values(): IterableIterator<SubscriptionEntry> {
    return this.map === null ? this.list.values() : this.map.values();
  }
}
