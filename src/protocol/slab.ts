// Output buffer allocator: carves small packets out of a shared 64 KiB slab to amortize ArrayBuffer creation.

const SLAB_SIZE = 64 * 1024;
/** Packets above this size get their own allocation so one large packet never pins a slab. */
const MAX_FROM_SLAB = 4096;

let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let used = 0;

/**
 * Returns an uninitialised buffer of `size` bytes. Slices of one slab are handed out once and never reused,
 * so callers may keep them (sockets queue them) for as long as they like.
 */
export function allocOutput(size: number): Buffer {
  if (size > MAX_FROM_SLAB) return Buffer.allocUnsafeSlow(size);
  if (used + size > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    used = 0;
  }
  const start = used;
  // Keep slices 8-byte aligned, as Node's own pool does.
  used = (used + size + 7) & ~7;
  return slab.subarray(start, start + size);
}
