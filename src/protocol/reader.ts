// Bounded cursor over one packet body; every read past the end is a Malformed Packet.

import { malformed, Rule } from './errors.js';
import type { ProtocolVersion } from './packets.js';
import { decodeUtf8 } from './utf8.js';

const EMPTY = Buffer.alloc(0);

/** One reader per decoder, reset for each packet, so decoding allocates nothing but the packet itself. */
export class WireReader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;
  /** Protocol level in force; a CONNECT being decoded sets it as soon as its level byte is known. */
  version: ProtocolVersion = 4;
  /** Most levels a topic name or filter may have; 0 = no limit (PacketDecoder sets it for each packet). */
  maxTopicLevels = 0;

  reset(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw truncated();
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) throw truncated();
    this.pos = p + 2;
    return ((this.buf[p] as number) << 8) | (this.buf[p + 1] as number);
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw truncated();
    this.pos = p + 4;
    return this.buf.readUInt32BE(p);
  }

  /** Variable Byte Integer, at most four bytes [MQTT-1.5.5-1]. */
  varint(): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value += (b & 0x7f) * mul;
      if (b < 0x80) return value;
      mul *= 128;
    }
    throw malformed(Rule.VarintTooLong, 'variable byte integer longer than four bytes');
  }

  utf8(): string {
    const n = this.u16();
    const p = this.pos;
    if (p + n > this.end) throw truncated();
    this.pos = p + n;
    return decodeUtf8(this.buf, p, p + n);
  }

  /** Binary Data, copied so it does not pin the network chunk it arrived in. */
  binary(): Buffer {
    const n = this.u16();
    const p = this.pos;
    if (p + n > this.end) throw truncated();
    this.pos = p + n;
    return Buffer.from(this.buf.subarray(p, p + n));
  }

  /** Packets with a fixed layout must end exactly where their content ends. */
  expectEnd(): void {
    if (this.pos !== this.end) throw malformed(Rule.TrailingBytes, 'remaining length exceeds packet content');
  }
}

function truncated() {
  return malformed(Rule.Truncated, 'remaining length too short for packet content');
}
