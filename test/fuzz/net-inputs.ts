// What one network-fuzz connection does: the transport, the bytes (a valid CONNECT and packet sequence, then
// damaged), how they are cut and paced, and how the connection ends. Everything derives from a seeded Rng.

import fc from 'fast-check';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { ConnectPacket, Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { packet } from '../protocol/arbitraries.js';
import { chunks, mutate, type Rng } from './mutate.js';

export type Transport = 'tcp' | 'ws' | 'ws-raw';
export type Ending = 'destroy' | 'reset' | 'wait' | 'end';

export interface Script {
  transport: Transport;
  chunks: Buffer[];
  /** Index of the chunk before which the sender pauses (-1: never), and for how long. */
  stallAt: number;
  stallMs: number;
  ending: Ending;
  /** How long `wait` and `end` wait for the broker to close before giving up. */
  waitMs: number;
  /** What went into the bytes, for the report ("flood", "deep", "mutated x2", ...). */
  kinds: string[];
}

const VERSIONS: ProtocolVersion[] = [3, 4, 5];

/** A MQTT fixed header + varint remaining length. */
function header(first: number, length: number): Buffer {
  const out = [first];
  do {
    let b = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) b |= 0x80;
    out.push(b);
  } while (length > 0);
  return Buffer.from(out);
}

/** A client WebSocket frame (RFC 6455 5.2), masked unless told otherwise. */
function wsFrame(payload: Buffer, opcode: number, masked: boolean, rng: Rng): Buffer {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | len])
      : len < 65536
        ? Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | 126, len >> 8, len & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | 127, 0, 0, 0, 0]), u32(len)]);
  if (!masked) return Buffer.concat([head, payload]);
  const mask = rng.bytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([head, mask, body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

const UPGRADE =
  'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n';

export class InputMaker {
  private readonly connects: ConnectPacket[][] = [];
  private readonly others: Buffer[][] = [];
  private readonly pool: Buffer[] = [];

  /** `known`: also produce the inputs of issue 10 (filters of 10,000+ levels, big pre-CONNECT packets). */
  constructor(
    seed: number,
    private readonly known: boolean,
  ) {
    for (const v of VERSIONS) {
      const c: ConnectPacket[] = [];
      const o: Buffer[] = [];
      for (const p of fc.sample(packet(v), { numRuns: 800, seed: seed + v })) {
        if (p.type === 1) c.push(p);
        else o.push(encodePacket(p, v));
      }
      c.push({
        type: 1,
        protocolName: 'MQTT',
        protocolVersion: v,
        cleanStart: true,
        keepAlive: 30,
        clientId: '',
      });
      this.connects[v] = c;
      this.others[v] = o;
      this.pool.push(...o);
    }
  }

  next(rng: Rng): Script {
    const kinds: string[] = [];
    const r = rng.next();
    const transport: Transport = r < 0.6 ? 'tcp' : r < 0.9 ? 'ws' : 'ws-raw';
    let stream = this.mqttStream(rng, kinds);
    if (rng.chance(0.75)) {
      const n = 1 + rng.int(3);
      for (let i = 0; i < n; i++) stream = mutate(rng, stream, this.pool);
      kinds.push(`mutated x${n}`);
    }
    if (transport === 'ws-raw') stream = this.rawWebSocket(rng, stream, kinds);
    const cut = chunks(rng, stream);
    let stallAt = -1;
    let stallMs = 0;
    if (rng.chance(0.1)) {
      if (cut.length === 1 && stream.length > 1) {
        const at = 1 + rng.int(stream.length - 1);
        cut.splice(0, 1, stream.subarray(0, at), stream.subarray(at));
      }
      stallAt = cut.length > 1 ? 1 + rng.int(cut.length - 1) : 0;
      stallMs = 50 + rng.int(350);
      kinds.push('stall');
    }
    const e = rng.next();
    const ending: Ending = e < 0.35 ? 'destroy' : e < 0.5 ? 'reset' : e < 0.85 ? 'wait' : 'end';
    return { transport, chunks: cut, stallAt, stallMs, ending, waitMs: 50 + rng.int(200), kinds };
  }

  private mqttStream(rng: Rng, kinds: string[]): Buffer {
    const v = rng.pick(VERSIONS);
    const connect = { ...rng.pick(this.connects[v] as ConnectPacket[]) };
    // A small set of ids, so sessions are taken over and resumed rather than piling up without bound.
    if (rng.chance(0.9)) connect.clientId = `fz-${rng.int(64)}`;
    if (rng.chance(0.15)) {
      connect.username = 'fuzz';
      connect.password = Buffer.from('fuzz');
    }
    const parts: Buffer[] = [];
    if (this.known && rng.chance(0.02)) {
      // First packet not CONNECT, announcing a huge length, then a lot of bytes (issue 10, h1-depth).
      kinds.push('pre-connect flood');
      parts.push(header(0x30, 200_000_000), Buffer.alloc((1 + rng.int(4)) << 20, 0x61));
      return Buffer.concat(parts);
    }
    parts.push(encodePacket(connect, v));
    const others = this.others[v] as Buffer[];
    for (let n = rng.int(8); n > 0; n--) parts.push(rng.pick(others));
    if (rng.chance(0.05)) {
      kinds.push('flood');
      const p = rng.chance(0.5) ? rng.pick(others) : publish(v, 'fz/flood', rng.bytes(rng.int(200)));
      for (let n = 200 + rng.int(2000); n > 0; n--) parts.push(p);
    }
    if (rng.chance(0.04)) {
      kinds.push('deep');
      const levels = 50 + rng.int(this.known ? 65_000 : 5_000);
      const topic = 'd/'.repeat(levels).slice(0, -1);
      const which = rng.int(3);
      parts.push(
        which === 0
          ? publish(v, topic, Buffer.from('x'))
          : which === 1
            ? subscribe(v, [topic])
            : unsubscribe(v, topic),
      );
    }
    if (rng.chance(0.03)) {
      kinds.push('long topic');
      parts.push(publish(v, 'L'.repeat(1000 + rng.int(64_000)), Buffer.from('x')));
    }
    if (rng.chance(0.03)) {
      kinds.push('many filters');
      parts.push(
        subscribe(
          v,
          Array.from({ length: 100 + rng.int(900) }, (_, i) => `fz/m/${i}/+`),
        ),
      );
    }
    if (v === 5 && rng.chance(0.03)) {
      kinds.push('user properties');
      const userProperties = Array.from({ length: 50 + rng.int(2000) }, (_, i): [string, string] => [
        `k${i}`,
        'v'.repeat(rng.int(100)),
      ]);
      const p: Packet = {
        type: 3,
        topic: 'fz/props',
        payload: Buffer.from('x'),
        qos: 0,
        retain: false,
        dup: false,
        packetId: 0,
        properties: { userProperties },
      };
      parts.push(encodePacket(p, 5));
    }
    if (rng.chance(0.03)) {
      kinds.push('huge remaining length');
      parts.push(header(rng.pick([0x30, 0x32, 0x82, 0xa2, 0xc0]), 268_435_455), rng.bytes(rng.int(100)));
    }
    return Buffer.concat(parts);
  }

  /** An upgrade request (sometimes with an oversized header) and the MQTT bytes in one frame, raw over TCP. */
  private rawWebSocket(rng: Rng, stream: Buffer, kinds: string[]): Buffer {
    let req = UPGRADE;
    if (rng.chance(0.1)) {
      req += `X-Padding: ${'a'.repeat(4000 + rng.int(100_000))}\r\n`;
      kinds.push('big ws header');
    }
    const opcode = rng.chance(0.85) ? 2 : rng.pick([0, 1, 3, 8, 9, 10, 15]);
    const frame = wsFrame(stream, opcode, rng.chance(0.9), rng);
    let out: Buffer = Buffer.concat([Buffer.from(`${req}\r\n`), frame]);
    if (rng.chance(0.3)) {
      out = mutate(rng, out, this.pool);
      kinds.push('ws mutated');
    }
    return out;
  }
}

function publish(v: ProtocolVersion, topic: string, payload: Buffer): Buffer {
  return encodePacket({ type: 3, topic, payload, qos: 0, retain: false, dup: false, packetId: 0 }, v);
}

function subscribe(v: ProtocolVersion, filters: string[]): Buffer {
  const subscriptions = filters.map((topicFilter) => ({
    topicFilter,
    qos: 1 as const,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0 as const,
  }));
  return encodePacket({ type: 8, packetId: 7, subscriptions }, v);
}

function unsubscribe(v: ProtocolVersion, filter: string): Buffer {
  return encodePacket({ type: 10, packetId: 8, topicFilters: [filter] }, v);
}
