// Small payloads of retained messages, copied side by side into shared slabs. An own copy of a 64-byte payload
// costs ~350 bytes of RSS (its Buffer, ArrayBuffer, backing store and malloc block); a message in a slab keeps the
// slab and its offset, and makes a view only when its payload is read (docs/performance.md). A slab whose
// retained payloads fall below a quarter of what was placed in it is compacted (its live payloads are copied
// into the current slab), so the slabs hold at most ~4x the live payload bytes plus one slab. A message the
// store lets go of takes a copy of its own (it may still be queued for a session or in flight), so no slab is
// kept alive by a message that is not retained.

const SLAB_BYTES = 64 * 1024;

/** Payloads above this keep their own copy (PublishFrame writes those uncopied, as chunks of their own). */
export const SLAB_MAX_PAYLOAD = 1024;

/** A message whose payload may live in a slab. */
export interface SlabResident {
  readonly payload: Buffer;
  /** Its place in its slab's list of holders, or negative when its payload is not in a slab (-1 once released). */
  slabIndex: number;
  /** @internal PayloadSlabs: its payload is now `length` bytes at `at` of `slab` (its `slabIndex` already set). */
  rehome(slab: Buffer, at: number, length: number): void;
  /** @internal PayloadSlabs: it left its slab; its payload must now be a buffer of its own. */
  unslab(): void;
}

class Slab {
  readonly bytes = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Bytes handed out, and of those the ones still held by a resident. */
  used = 0;
  live = 0;
  readonly holders: (SlabResident | undefined)[] = [];
}

/** The slabs of one retained store. */
export class PayloadSlabs {
  private current = new Slab();
  private readonly byBuffer = new Map<ArrayBufferLike, Slab>([[this.current.bytes.buffer, this.current]]);

  /** Copies `payload` into the current slab as `holder`'s, which gets its index and its place (rehome). */
  place(holder: SlabResident, payload: Buffer): void {
    const length = payload.length;
    if (this.current.used + length > SLAB_BYTES) this.rollOver();
    const slab = this.current;
    const at = slab.used;
    payload.copy(slab.bytes, at);
    slab.used += length;
    slab.live += length;
    holder.slabIndex = slab.holders.length;
    slab.holders.push(holder);
    holder.rehome(slab.bytes, at, length);
  }

  /** `holder` is no longer retained: it gets its payload copied out, and its bytes in the slab count as free. */
  release(holder: SlabResident): void {
    const index = holder.slabIndex;
    if (index < 0) return;
    holder.slabIndex = -1;
    const payload = holder.payload;
    holder.unslab();
    const slab = this.byBuffer.get(payload.buffer);
    if (slab === undefined || slab.holders[index] !== holder) return;
    slab.holders[index] = undefined;
    slab.live -= payload.length;
    if (slab !== this.current && slab.live * 4 < slab.used) this.compact(slab);
  }

  /** Slabs in use and the payload bytes still held in them (tests, diagnostics). */
  stats(): { slabs: number; liveBytes: number } {
    let liveBytes = 0;
    for (const slab of this.byBuffer.values()) liveBytes += slab.live;
    return { slabs: this.byBuffer.size, liveBytes };
  }

  private rollOver(): void {
    const full = this.current;
    this.current = new Slab();
    this.byBuffer.set(this.current.bytes.buffer, this.current);
    // Releases while it was current did not compact it.
    if (full.live * 4 < full.used) this.compact(full);
  }

  private compact(slab: Slab): void {
    this.byBuffer.delete(slab.bytes.buffer);
    for (const holder of slab.holders) {
      if (holder === undefined) continue;
      this.place(holder, holder.payload);
    }
  }
}
