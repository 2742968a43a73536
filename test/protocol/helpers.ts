// Shared helpers for the protocol tests: feeding decoders and collecting what they emit.

import { type DecoderSink, PacketDecoder } from '../../src/protocol/decoder.js';
import type { MqttProtocolError } from '../../src/protocol/errors.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';

export interface Decoded {
  packets: Packet[];
  errors: MqttProtocolError[];
}

export class Collector implements DecoderSink {
  readonly packets: Packet[] = [];
  readonly errors: MqttProtocolError[] = [];
  onPacket(packet: Packet): void {
    this.packets.push(packet);
  }
  onDecodeError(error: MqttProtocolError): void {
    this.errors.push(error);
  }
}

/** Decodes `chunks` with a fresh decoder set to `version`. */
export function decodeChunks(
  chunks: readonly Buffer[],
  version: ProtocolVersion,
  maxPacketSize = 0,
): Decoded {
  const decoder = new PacketDecoder({ maxPacketSize });
  decoder.protocolVersion = version;
  const sink = new Collector();
  for (const c of chunks) decoder.push(c, sink);
  return { packets: sink.packets, errors: sink.errors };
}

export function decodeOne(bytes: Buffer | readonly number[], version: ProtocolVersion): Decoded {
  return decodeChunks([Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)], version);
}

/** Splits `buf` at the given cut points. */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const sorted = [...new Set(cuts.map((c) => Math.max(0, Math.min(buf.length, c))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** ASCII bytes of a string, for fixtures. */
export function ascii(s: string): number[] {
  return [...Buffer.from(s, 'latin1')];
}

/** Deep copy with Buffers turned into byte arrays, so deepStrictEqual ignores pooled vs. subarray buffers. */
export function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { buffer: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v);
    return out;
  }
  return value;
}
