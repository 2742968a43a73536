// Bulk PUBLISH writer: many QoS 0 packets (MQTT 3.1 / 3.1.1, no properties) serialized back to back into
// large buffers, for sends of thousands of small messages at once (the retained messages of a subscription).

import type { ByteSink } from './publish-frame.js';
import { varintSize, writeU16, writeVarint } from './writer.js';

/** Size of one batch buffer; the sink gets a write each time one fills up. */
const BATCH_BYTES = 64 * 1024;
/** Packets above this size are not copied into a batch (the caller writes them on its own). */
export const BATCH_PACKET_MAX = 2048;

/** Node's direct UTF-8 writer; present on Buffer.prototype but missing from @types/node. */
interface FastWrite {
  utf8Write(s: string, offset: number): number;
}

/**
 * Packets are appended to a buffer and handed to the sink as one chunk per BATCH_BYTES. Written parts of a
 * buffer are never touched again (the sink may keep them queued), so `flush()` can be called at any time.
 */
export class PublishBatch {
  private buf: Buffer | null = null;
  /** Start of what has not been handed to the sink yet, and end of what is written. */
  private start = 0;
  private end = 0;

  constructor(private readonly sink: ByteSink) {}

  /** Appends one QoS 0 PUBLISH; false when it is too large for a batch (nothing was written). */
  addPublish(topic: string, payload: Buffer, retain: boolean): boolean {
    // One byte per character for ASCII topics; the exact count only when the topic is not ASCII.
    const topicLen = Buffer.byteLength(topic, 'utf8');
    const remaining = 2 + topicLen + payload.length;
    const total = 1 + varintSize(remaining) + remaining;
    if (total > BATCH_PACKET_MAX) return false;
    const buf = this.room(total);
    let off = this.end;
    buf[off++] = retain ? 0x31 : 0x30;
    off = writeVarint(buf, off, remaining);
    off = writeU16(buf, off, topicLen);
    if (topicLen > 0) off += (buf as unknown as FastWrite).utf8Write(topic, off);
    off += payload.copy(buf, off);
    this.end = off;
    return true;
  }

  /** Appends an already encoded packet; false when it is too large for a batch. */
  addRaw(chunk: Buffer): boolean {
    if (chunk.length > BATCH_PACKET_MAX) return false;
    const buf = this.room(chunk.length);
    this.end += chunk.copy(buf, this.end);
    return true;
  }

  /** Hands what was appended so far to the sink. */
  flush(): void {
    if (this.buf === null || this.end === this.start) return;
    this.sink.write(this.buf.subarray(this.start, this.end));
    this.start = this.end;
  }

  private room(n: number): Buffer {
    const buf = this.buf;
    if (buf !== null && this.end + n <= buf.length) return buf;
    this.flush();
    const fresh = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.buf = fresh;
    this.start = this.end = 0;
    return fresh;
  }
}
