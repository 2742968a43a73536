// One turn's QoS 0 copies for one other worker (worker-links.ts), encoded into link frames as they are made: a
// copy holds no reference to its message once written, so a message dies right after its routing, as on a single
// broker. Keeping a turn's messages for an encoding at its end kept hundreds of them alive across young-generation
// collections: copied, promoted, then collected by the old generation (3.6x the GC time of `workers 1` per delivery).
// Frame layout: u32 length (type byte and body), u8 type, body (message-codec.ts records).

import type { Message } from '../broker/message.js';
import { type GroupRef, MAX_GROUPS, recordSize, writeRecord } from './message-codec.js';

/** Header of a frame: u32 length, u8 type. */
export const FRAME_HEADER = 5;
/** Frame type of records. */
export const RECORDS = 2;
/** Records per frame, in bytes (about one chunk read from a socket). */
const FRAME_BYTES = 64 * 1024;
/** A frame starts this small and grows (x4) up to FRAME_BYTES: a quiet turn holds one small message. */
const FIRST_BYTES = 2048;

export class LinkOut {
  /** Complete frames of this turn, header included. */
  readonly frames: Buffer[] = [];
  /** Records this turn (a message with several share groups here is one record). */
  count = 0;
  private buf: Buffer | undefined = undefined;
  private off = FRAME_HEADER;
  /** Size of the next frame's first buffer: what the last frame used (a busy link starts at FRAME_BYTES). */
  private first = FIRST_BYTES;
  /** The last copy, not written yet: share groups of the same message may still join it. */
  private message: Message | undefined = undefined;
  private regular = false;
  private groups: GroupRef[] | undefined = undefined;

  /** A copy of `message` for that worker; false when it joined the previous copy (no new record). */
  add(message: Message, regular: boolean, group: GroupRef | undefined): boolean {
    const groups = this.groups;
    if (this.message === message && (groups?.length ?? 0) < MAX_GROUPS) {
      if (regular) this.regular = true;
      if (group !== undefined) {
        if (groups === undefined) this.groups = [group];
        else groups.push(group);
      }
      return false;
    }
    if (this.message !== undefined) this.writePending();
    this.message = message;
    this.regular = regular;
    this.groups = group === undefined ? undefined : [group];
    this.count++;
    return true;
  }

  /** This turn's frames (the last one closed); the caller writes them, then calls clear(). */
  close(): readonly Buffer[] {
    if (this.message !== undefined) this.writePending();
    this.closeFrame();
    return this.frames;
  }

  clear(): void {
    this.frames.length = 0;
    this.count = 0;
    this.message = undefined;
    this.groups = undefined;
  }

  private writePending(): void {
    const m = this.message!;
    const groups = this.groups;
    const size = recordSize(m, groups);
    let buf = this.buf;
    if (buf === undefined || this.off + size > buf.length) buf = this.room(size);
    this.off = writeRecord(buf, this.off, m, this.regular, groups);
    this.message = undefined;
    this.groups = undefined;
  }

  /** A frame with `size` bytes free: the current one grown, or a new one once it reached FRAME_BYTES. */
  private room(size: number): Buffer {
    const old = this.buf;
    const used = this.off;
    if (old !== undefined && old.length >= FRAME_BYTES) {
      this.closeFrame();
      return this.room(size);
    }
    let want = old === undefined ? this.first : Math.min(old.length * 4, FRAME_BYTES);
    while (want < used + size) want *= 2;
    const buf = Buffer.allocUnsafe(want);
    if (old !== undefined) old.copy(buf, 0, 0, used);
    this.buf = buf;
    return buf;
  }

  private closeFrame(): void {
    const buf = this.buf;
    if (buf === undefined || this.off === FRAME_HEADER) return;
    buf.writeUInt32BE(this.off - 4, 0);
    buf[4] = RECORDS;
    this.frames.push(buf.subarray(0, this.off));
    let first = FIRST_BYTES;
    while (first < this.off && first < FRAME_BYTES) first *= 4;
    this.first = Math.min(first, FRAME_BYTES);
    this.buf = undefined;
    this.off = FRAME_HEADER;
  }
}
