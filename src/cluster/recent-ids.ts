// The ids of the last inbox entries a node handled, so that an entry written twice is handled once: ioredis
// sends a MULTI again after a reconnection when its reply was lost, and Redis may have applied it already (its
// XADDs then append the same entries a second time). A bounded FIFO: the oldest id goes when a new one comes.

/** Entries remembered per node (each holds one turn's copies for it from one node): 16,384, about 1 MB. */
export const RECENT_ENTRIES = 16_384;

export class RecentIds {
  private readonly seen = new Set<string>();
  private readonly ring: string[];
  private head = 0;

  constructor(readonly capacity = RECENT_ENTRIES) {
    this.ring = new Array<string>(capacity);
  }

  /** True when `id` was seen among the last `capacity` ids; otherwise remembers it and returns false. */
  repeat(id: string): boolean {
    const seen = this.seen;
    if (seen.has(id)) return true;
    const old = this.ring[this.head];
    if (old !== undefined) seen.delete(old);
    this.ring[this.head] = id;
    this.head = (this.head + 1) % this.capacity;
    seen.add(id);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }
}
