// Streaming MQTT decoder: a framing state machine that turns arbitrary byte chunks into whole packets.

import { decodePacketBody } from './decode-packets.js';
import { MqttProtocolError, malformed, PACKET_TOO_LARGE, protocolError, Rule } from './errors.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { WireReader } from './reader.js';

export interface DecoderSink {
  onPacket(packet: Packet): void;
  onDecodeError(error: MqttProtocolError): void;
}

/** Largest Remaining Length a four-byte Variable Byte Integer can carry. */
export const MAX_REMAINING_LENGTH = 268435455;
const EMPTY = Buffer.alloc(0);
/** One reader for every decoder: a packet body is decoded synchronously, and the reader reset before any callback. */
const reader = new WireReader();

/**
 * Buffers only what an incomplete packet needs. Packets lying wholly inside one chunk are decoded in place
 * (a PUBLISH payload is then a subarray of that chunk, so callers must not reuse pushed chunks); packets split
 * over chunks are copied once when complete. After the first error all later input is ignored.
 */
export class PacketDecoder {
  /** Starts at 4; a decoded CONNECT sets it; the broker may set it too. */
  protocolVersion: ProtocolVersion = 4;
  /** Largest whole packet accepted, in bytes; 0 means no limit beyond the protocol's own. May change per phase. */
  maxPacketSize: number;
  /** Most levels a topic name or filter may have; 0 = no limit. */
  maxTopicLevels: number;
  /** Bytes of the last packet decoded, fixed header included. */
  lastPacketBytes = 0;

  private failed = false;
  // Fixed header being assembled: first byte, Remaining Length so far, bytes of it seen.
  private headerBytes = 0;
  private first = 0;
  private remaining = 0;
  private multiplier = 1;
  // Body being accumulated; bodyNeed < 0 while no header is complete.
  private bodyNeed = -1;
  private bodyHave = 0;
  /** Pieces of a packet split over chunks; only allocated while one is being assembled (idle memory). */
  private parts: Buffer[] | null = null;
  /** A server's decoder refuses a first packet other than CONNECT from its first byte, before reading more. */
  private connectFirst: boolean;

  constructor(options?: { maxPacketSize?: number; maxTopicLevels?: number; connectFirst?: boolean }) {
    this.maxPacketSize = options?.maxPacketSize ?? 0;
    this.maxTopicLevels = options?.maxTopicLevels ?? 0;
    this.connectFirst = options?.connectFirst ?? false;
  }

  /** Bytes held for a packet that has not fully arrived (for stall detection). */
  get bufferedBytes(): number {
    return this.headerBytes + this.bodyHave;
  }

  /** Body length of the packet being assembled, once its fixed header is complete (0 before). */
  get expectedBytes(): number {
    return Math.max(this.bodyNeed, 0);
  }

  /** True once an error was reported; the connection must then be closed. */
  get hasFailed(): boolean {
    return this.failed;
  }

  push(chunk: Buffer, sink: DecoderSink): void {
    const len = chunk.length;
    let pos = 0;
    while (pos < len && !this.failed) {
      if (this.bodyNeed < 0) {
        pos = this.readHeader(chunk, pos, len, sink);
        if (this.bodyNeed < 0) return;
        if (this.bodyNeed === 0) {
          this.emit(EMPTY, 0, 0, sink);
          continue;
        }
      }
      const want = this.bodyNeed - this.bodyHave;
      const avail = len - pos;
      if (avail < want) {
        this.parts ??= [];
        this.parts.push(chunk.subarray(pos));
        this.bodyHave += avail;
        return;
      }
      if (this.bodyHave === 0) {
        // Whole body inside this chunk: decode in place, no copy.
        this.emit(chunk, pos, pos + want, sink);
      } else {
        const parts = this.parts ?? [];
        parts.push(chunk.subarray(pos, pos + want));
        const whole = Buffer.concat(parts, this.bodyNeed);
        this.parts = null;
        this.emit(whole, 0, whole.length, sink);
      }
      pos += want;
    }
  }

  /** Consumes fixed-header bytes; sets bodyNeed once the Remaining Length is complete and acceptable. */
  private readHeader(chunk: Buffer, pos: number, len: number, sink: DecoderSink): number {
    if (this.headerBytes === 0) {
      const first = chunk[pos] as number;
      if (this.connectFirst && first >>> 4 !== 1) {
        // [MQTT-3.1.0-1] nothing else is read, so a huge announced length costs nothing (as Mosquitto).
        this.fail(protocolError(Rule.FirstNotConnect, 'first packet was not CONNECT'), sink);
        return len;
      }
      this.first = first;
      pos++;
      this.headerBytes = 1;
      this.remaining = 0;
      this.multiplier = 1;
    }
    while (pos < len) {
      const b = chunk[pos++] as number;
      this.headerBytes++;
      this.remaining += (b & 0x7f) * this.multiplier;
      if (b < 0x80) {
        this.headerComplete(sink);
        return pos;
      }
      if (this.headerBytes === 5) {
        this.fail(malformed(Rule.VarintTooLong, 'remaining length longer than four bytes'), sink);
        return len;
      }
      this.multiplier *= 128;
    }
    return pos;
  }

  private headerComplete(sink: DecoderSink): void {
    const limit = this.maxPacketSize;
    // Checked before any body byte is buffered, so a huge length costs nothing.
    if (limit > 0 && this.headerBytes + this.remaining > limit) {
      this.fail(
        new MqttProtocolError(
          PACKET_TOO_LARGE,
          Rule.PacketTooLarge,
          `packet of ${this.headerBytes + this.remaining} bytes exceeds ${limit}`,
        ),
        sink,
      );
      return;
    }
    this.bodyNeed = this.remaining;
    this.bodyHave = 0;
  }

  private emit(buf: Buffer, start: number, end: number, sink: DecoderSink): void {
    const first = this.first;
    this.connectFirst = false;
    this.lastPacketBytes = this.headerBytes + (end - start);
    this.headerBytes = 0;
    this.bodyNeed = -1;
    this.bodyHave = 0;
    const r = reader;
    r.reset(buf, start, end);
    r.version = this.protocolVersion;
    r.maxTopicLevels = this.maxTopicLevels;
    let packet: Packet | undefined;
    let failure: unknown;
    try {
      packet = decodePacketBody(first, r);
    } catch (error) {
      failure = error;
    }
    // The shared reader is released before the sink runs: the sink may feed another decoder.
    this.protocolVersion = r.version;
    r.reset(EMPTY, 0, 0);
    if (packet === undefined) this.fail(toProtocolError(failure), sink);
    else sink.onPacket(packet);
  }

  private fail(error: MqttProtocolError, sink: DecoderSink): void {
    this.failed = true;
    this.parts = null;
    this.headerBytes = 0;
    this.bodyHave = 0;
    sink.onDecodeError(error);
  }
}

function toProtocolError(error: unknown): MqttProtocolError {
  if (error instanceof MqttProtocolError) return error;
  // A bug, not bad input: still reported as a typed error so the connection closes cleanly.
  const message = error instanceof Error ? error.message : String(error);
  return malformed(Rule.Internal, `internal decoder error: ${message}`);
}
