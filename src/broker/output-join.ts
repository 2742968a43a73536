// Small packets of one event-loop turn leave a connection as one chunk: a stream write per packet costs a queue
// entry each (promoted to the old generation when a turn writes thousands of them) and an iovec each in writev,
// far more than copying a packet of a few dozen bytes.

/** Packets up to this size are joined with the others of their turn; larger ones are written as they are. */
export const JOIN_MAX = 2048;
/** Joined packets leave as one chunk per this many bytes at most. */
export const JOIN_BYTES = 64 * 1024;

/** The chunks as one buffer (the only chunk itself when there is one); empties `chunks`. */
export function joinChunks(chunks: Buffer[], bytes: number): Buffer {
  const n = chunks.length;
  if (n === 1) {
    const only = chunks[0]!;
    chunks.length = 0;
    return only;
  }
  const out = Buffer.allocUnsafe(bytes);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const c = chunks[i]!;
    out.set(c, off);
    off += c.length;
  }
  chunks.length = 0;
  return out;
}
