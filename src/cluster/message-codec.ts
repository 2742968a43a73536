// The binary form of messages between nodes: many records in one Buffer (one stream entry per node and turn).
// A record: flags (QoS, RETAIN, "deliver to the subscriptions here", properties, expiry, id), topic, publisher's
// client id (No Local across nodes), expiry time, the message's cluster-wide id (origin node's epoch u32,
// sequence f64), MQTT 5 properties as on the wire, the share groups to deliver to on the receiving node, and the
// payload, never converted to text.

import { Message } from '../broker/message.js';
import type { QoS } from '../protocol/packets.js';
import { decodeProperties, propertiesSize, writeProperties } from '../protocol/properties.js';
import { WireReader } from '../protocol/reader.js';
import { varintSize } from '../protocol/writer.js';

const RETAIN = 0x04;
const REGULAR = 0x08;
const PROPS = 0x10;
const EXPIRY = 0x20;
const CLUSTER_ID = 0x40;
/** PUBLISH, as decodeProperties names its context. */
const PUBLISH_CONTEXT = 3;

/** A share group on the receiving node: its name and (match) filter. */
export interface GroupRef {
  readonly name: string;
  readonly filter: string;
}

/** Share groups one record can name; a message for more groups on one node takes several records. */
export const MAX_GROUPS = 0xffff;

export interface OutRecord {
  readonly message: Message;
  /** Deliver to the ordinary subscriptions of the receiving node. */
  regular: boolean;
  /** Deliver to one member of each of these share groups there. */
  groups: GroupRef[] | undefined;
}

export interface InRecord {
  readonly message: Message;
  readonly regular: boolean;
  readonly groups: readonly GroupRef[];
}

/** Bytes `writeRecord` writes for a copy of `m` with these share groups. */
export function recordSize(m: Message, groups: readonly GroupRef[] | undefined): number {
  let n = 1 + 2 + Buffer.byteLength(m.topic) + 2 + Buffer.byteLength(m.origin) + 2 + 4 + m.payload.length;
  if (m.expiresAt !== 0) n += 8;
  if (m.clusterSeq !== 0) n += 12;
  if (m.properties !== undefined) {
    const size = propertiesSize(m.properties);
    n += varintSize(size) + size;
  }
  if (groups !== undefined)
    for (const g of groups) n += 4 + Buffer.byteLength(g.name) + Buffer.byteLength(g.filter);
  return n;
}

function writeString(buf: Buffer, off: number, s: string): number {
  const n = buf.write(s, off + 2);
  buf.writeUInt16BE(n, off);
  return off + 2 + n;
}

/** Writes one record at `off` (recordSize bytes free there); returns the offset after it. */
export function writeRecord(
  buf: Buffer,
  at: number,
  m: Message,
  regular: boolean,
  groups: readonly GroupRef[] | undefined,
): number {
  let off = at;
  let flags = m.qos;
  if (m.retain) flags |= RETAIN;
  if (regular) flags |= REGULAR;
  if (m.properties !== undefined) flags |= PROPS;
  if (m.expiresAt !== 0) flags |= EXPIRY;
  if (m.clusterSeq !== 0) flags |= CLUSTER_ID;
  buf[off++] = flags;
  off = writeString(buf, off, m.topic);
  off = writeString(buf, off, m.origin);
  if (m.expiresAt !== 0) off = buf.writeDoubleBE(m.expiresAt, off);
  if (m.clusterSeq !== 0) {
    off = buf.writeUInt32BE(m.clusterEpoch, off);
    off = buf.writeDoubleBE(m.clusterSeq, off);
  }
  if (m.properties !== undefined) off = writeProperties(buf, off, m.properties, propertiesSize(m.properties));
  off = buf.writeUInt16BE(groups === undefined ? 0 : groups.length, off);
  if (groups !== undefined)
    for (const g of groups) {
      off = writeString(buf, off, g.name);
      off = writeString(buf, off, g.filter);
    }
  off = buf.writeUInt32BE(m.payload.length, off);
  return off + m.payload.copy(buf, off);
}

export function encodeRecords(records: readonly OutRecord[]): Buffer {
  let size = 0;
  for (const r of records) size += recordSize(r.message, r.groups);
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  for (const r of records) off = writeRecord(buf, off, r.message, r.regular, r.groups);
  return buf;
}

/** One message alone (retained updates). */
export function encodeMessage(message: Message): Buffer {
  return encodeRecords([{ message, regular: false, groups: undefined }]);
}

/** The topic of the first record of a body, without decoding the rest ('' when it is too short). */
export function recordTopic(body: Buffer): string {
  if (body.length < 3) return '';
  return body.toString('utf8', 3, 3 + body.readUInt16BE(1));
}

const NO_GROUPS: readonly GroupRef[] = Object.freeze([]);

/**
 * Reads the records of a body one at a time, into its own fields (nothing but the message is allocated per
 * record): a frame's messages are routed as they are read, so they die young, as a client's PUBLISH does.
 */
export class RecordReader {
  private readonly r = new WireReader();
  private body: Buffer = Buffer.alloc(0);
  /** The record just read (next() returned true). */
  message: Message | undefined = undefined;
  regular = false;
  groups: readonly GroupRef[] = NO_GROUPS;

  constructor() {
    this.r.version = 5;
  }

  reset(body: Buffer): void {
    this.body = body;
    this.r.reset(body, 0, body.length);
    this.message = undefined;
  }

  /** Reads the next record; false at the end. Throws (a malformed-packet error) on bytes this codec did not write. */
  next(): boolean {
    const r = this.r;
    const body = this.body;
    this.message = undefined;
    if (r.remaining() <= 0) return false;
    const flags = r.u8();
    const topic = r.utf8();
    const origin = r.utf8();
    let expiresAt = 0;
    if ((flags & EXPIRY) !== 0) {
      if (r.pos + 8 > r.end) throw new Error('Cluster: truncated message record');
      expiresAt = body.readDoubleBE(r.pos);
      r.pos += 8;
    }
    let epoch = 0;
    let seq = 0;
    if ((flags & CLUSTER_ID) !== 0) {
      if (r.pos + 12 > r.end) throw new Error('Cluster: truncated message record');
      epoch = body.readUInt32BE(r.pos);
      seq = body.readDoubleBE(r.pos + 4);
      r.pos += 12;
    }
    const properties = (flags & PROPS) !== 0 ? decodeProperties(r, PUBLISH_CONTEXT) : undefined;
    const count = r.u16();
    let groups = NO_GROUPS;
    if (count > 0) {
      const list: GroupRef[] = [];
      for (let i = 0; i < count; i++) list.push({ name: r.utf8(), filter: r.utf8() });
      groups = list;
    }
    const length = r.u32();
    if (r.pos + length > r.end) throw new Error('Cluster: truncated message record');
    const payload = body.subarray(r.pos, r.pos + length);
    r.pos += length;
    const message = new Message(
      topic,
      payload,
      (flags & 0x03) as QoS,
      (flags & RETAIN) !== 0,
      properties,
      origin,
      expiresAt,
    );
    message.clusterEpoch = epoch;
    message.clusterSeq = seq;
    this.message = message;
    this.regular = (flags & REGULAR) !== 0;
    this.groups = groups;
    return true;
  }
}

/** Every record of a body; throws (a malformed-packet error) when it is not one this codec wrote. */
export function decodeRecords(body: Buffer): InRecord[] {
  const reader = new RecordReader();
  reader.reset(body);
  const out: InRecord[] = [];
  while (reader.next())
    out.push({ message: reader.message!, regular: reader.regular, groups: reader.groups });
  return out;
}
