// The binary form of a `delivery_log` row (schema version 5): the QoS 1 deliveries of one turn whose message has
// no other reference, each with its message, back to back. One row and three bound values per turn instead of a
// row and nineteen values per delivery.
//
// Row: u32 entry count, then entries. Entry: f64 seq, f64 message id, f64 expires_at, i32 source port (-1 none),
// u16 packet id, u8 qos, u8 retain, u8 message qos, u8 message retain, then the strings client id, topic, origin,
// subscription ids, share group, share filter, properties, source username (u32 byte length, 0xffffffff = NULL,
// then UTF-8), then u32 payload length and the payload. Little-endian.

import type { QoS } from '../protocol/packets.js';
import { decodeIds, decodeProperties, encodeIds, encodeProperties } from './json-codec.js';
import type { DeliveryRecord, StoredDelivery, StoredMessage } from './store.js';

const NULL_LENGTH = 0xffffffff;
/** Fixed part of an entry: 3 f64, i32, u16, 4 u8, 8 string lengths and the payload length. */
const FIXED = 24 + 4 + 2 + 4 + 9 * 4;
/** Strings up to this length are tried as ASCII, copied by a loop. */
const ASCII_LOOP = 64;
/** An encoder keeping more than this between turns gives its buffer back. */
const KEEP_BYTES = 1 << 20;

export class LogEncoder {
  private buf = Buffer.allocUnsafe(1 << 14);
  private at = 4;
  private count = 0;

  get empty(): boolean {
    return this.count === 0;
  }

  /** Appends one delivery (and its message, inline) for `clientId`, stored under `seq`. */
  add(seq: number, clientId: string, d: DeliveryRecord): void {
    const m = d.message;
    const source = m.source;
    const ids = encodeIds(d.subscriptionIds);
    const props = encodeProperties(m.properties);
    const group = d.group;
    this.reserve(
      FIXED +
        3 * (clientId.length + m.topic.length + m.origin.length) +
        (ids === null ? 0 : ids.length) +
        (group === undefined ? 0 : 3 * (group.name.length + group.filter.length)) +
        (props === null ? 0 : 3 * props.length) +
        (source?.username === undefined ? 0 : 3 * source.username.length) +
        m.payload.length,
    );
    const b = this.buf;
    let o = this.at;
    b.writeDoubleLE(seq, o);
    b.writeDoubleLE(m.id, o + 8);
    b.writeDoubleLE(m.expiresAt, o + 16);
    b.writeInt32LE(source === undefined ? -1 : source.listenerPort, o + 24);
    b.writeUInt16LE(d.packetId, o + 28);
    b[o + 30] = d.qos;
    b[o + 31] = d.retain ? 1 : 0;
    b[o + 32] = m.qos;
    b[o + 33] = m.retain ? 1 : 0;
    o += 34;
    o = this.string(clientId, o);
    o = this.string(m.topic, o);
    o = this.string(m.origin, o);
    o = this.string(ids, o);
    o = this.string(group === undefined ? null : group.name, o);
    o = this.string(group === undefined ? null : group.filter, o);
    o = this.string(props, o);
    o = this.string(source?.username ?? null, o);
    const payload = m.payload;
    b.writeUInt32LE(payload.length, o);
    b.set(payload, o + 4);
    this.at = o + 4 + payload.length;
    this.count++;
  }

  /** The row of what was added since the last take (valid until the next add); then starts a new one. */
  take(): Buffer {
    this.buf.writeUInt32LE(this.count, 0);
    const row = this.buf.subarray(0, this.at);
    this.at = 4;
    this.count = 0;
    return row;
  }

  /** Forgets what was added (a failed commit); gives a large buffer back. */
  clear(): void {
    this.at = 4;
    this.count = 0;
    if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafe(1 << 14);
  }

  private string(s: string | null, o: number): number {
    const b = this.buf;
    if (s === null) {
      b.writeUInt32LE(NULL_LENGTH, o);
      return o + 4;
    }
    const len = s.length;
    // Client ids, topics and origins are short and mostly ASCII: copied by a loop, as a call into C++ to encode
    // them costs more than the copy. Anything else goes through the UTF-8 encoder.
    let n = 0;
    if (len <= ASCII_LOOP) {
      const at = o + 4;
      for (; n < len; n++) {
        const c = s.charCodeAt(n);
        if (c >= 0x80) break;
        b[at + n] = c;
      }
    }
    if (n < len) n = b.write(s, o + 4);
    b.writeUInt32LE(n, o);
    return o + 4 + n;
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}

/** The number of entries of a row. */
export function logEntryCount(row: Buffer): number {
  return row.readUInt32LE(0);
}

/** One decoded entry: the delivery with its client id; its message is shared through `messages` by id. */
export type LogEntry = StoredDelivery;

/** Decodes a row. Payloads are copied out, so the row's buffer does not stay alive with them. */
export function decodeLogRow(row: Buffer): LogEntry[] {
  const n = row.readUInt32LE(0);
  const out: LogEntry[] = [];
  let o = 4;
  const str = (): string | null => {
    const len = row.readUInt32LE(o);
    o += 4;
    if (len === NULL_LENGTH) return null;
    const s = row.toString('utf8', o, o + len);
    o += len;
    return s;
  };
  for (let i = 0; i < n; i++) {
    const seq = row.readDoubleLE(o);
    const id = row.readDoubleLE(o + 8);
    const expiresAt = row.readDoubleLE(o + 16);
    const port = row.readInt32LE(o + 24);
    const packetId = row.readUInt16LE(o + 28);
    const qos = row[o + 30] as 1 | 2;
    const retain = row[o + 31] !== 0;
    const mQos = row[o + 32] as QoS;
    const mRetain = row[o + 33] !== 0;
    o += 34;
    const clientId = str()!;
    const topic = str()!;
    const origin = str()!;
    const ids = str();
    const groupName = str();
    const groupFilter = str();
    const props = str();
    const username = str();
    const len = row.readUInt32LE(o);
    const payload = Buffer.from(row.subarray(o + 4, o + 4 + len));
    o += 4 + len;
    const message: StoredMessage = {
      id,
      topic,
      payload,
      qos: mQos,
      retain: mRetain,
      properties: decodeProperties(props),
      origin,
      expiresAt,
      source: port === -1 ? undefined : { username: username ?? undefined, listenerPort: port },
    };
    out.push({
      seq,
      clientId,
      message,
      qos,
      retain,
      subscriptionIds: decodeIds(ids),
      packetId,
      released: false,
      shareGroup: groupName ?? undefined,
      shareFilter: groupFilter ?? undefined,
    });
  }
  return out;
}

/** A row's dead seqs (`log_dead.seqs`): f64s. */
export function encodeSeqs(seqs: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(seqs.length * 8);
  for (let i = 0; i < seqs.length; i++) b.writeDoubleLE(seqs[i]!, i * 8);
  return b;
}

export function decodeSeqs(b: Buffer): number[] {
  const out: number[] = [];
  for (let o = 0; o + 8 <= b.length; o += 8) out.push(b.readDoubleLE(o));
  return out;
}
