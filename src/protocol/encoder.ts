// Packet encoder: computes the exact size, allocates once, writes every field in place.

import { protocolError } from './errors.js';
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import { type Properties, propertiesSize, writeProperties } from './properties.js';
import { allocOutput } from './slab.js';
import {
  stringSize,
  utf8Length,
  varintSize,
  writeBinary,
  writeString,
  writeStringOfLength,
  writeU16,
  writeVarint,
} from './writer.js';

/** Encodes one packet for a connection at protocol level `version` (properties/reason codes only at 5). */
export function encodePacket(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 3:
      return encodePublish(packet, version);
    case 1:
      return encodeConnect(packet, version);
    case 2:
      return encodeConnack(packet, version);
    case 4:
    case 5:
    case 6:
    case 7:
      return encodeAck(packet, version);
    case 8:
      return encodeSubscribe(packet, version);
    case 9:
      return encodeSuback(packet, version);
    case 10:
      return encodeUnsubscribe(packet, version);
    case 11:
      return encodeUnsuback(packet, version);
    case 12:
      return Buffer.from([0xc0, 0x00]);
    case 13:
      return Buffer.from([0xd0, 0x00]);
    case 14:
      return encodeDisconnect(packet, version);
    case 15:
      return encodeAuth(packet, version);
  }
}

/** Allocates the whole packet and writes the fixed header; returns the buffer, body starts at headerSize. */
function allocate(first: number, remaining: number): Buffer {
  if (remaining > 268435455) throw protocolError('MQTT-2.1.4-remaining-length', 'packet too large to encode');
  const buf = allocOutput(1 + varintSize(remaining) + remaining);
  buf[0] = first;
  writeVarint(buf, 1, remaining);
  return buf;
}

function bodyStart(remaining: number): number {
  return 1 + varintSize(remaining);
}

/** Size of a property block including its length prefix. */
function blockSize(propsLen: number): number {
  return varintSize(propsLen) + propsLen;
}

/** The hot path: inlined header writing and a single measure of the topic. */
function encodePublish(p: PublishPacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  const propsLen = v5 ? propertiesSize(p.properties) : 0;
  const topicLen = utf8Length(p.topic);
  const remaining = 2 + topicLen + (p.qos > 0 ? 2 : 0) + (v5 ? blockSize(propsLen) : 0) + p.payload.length;
  const first = 0x30 | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
  const buf = allocate(first, remaining);
  let off = writeStringOfLength(buf, bodyStart(remaining), p.topic, topicLen);
  if (p.qos > 0) off = writeU16(buf, off, p.packetId);
  if (v5) off = writeProperties(buf, off, p.properties, propsLen);
  // TypedArray#set is a V8 builtin; Buffer#copy goes through argument checks and a binding call.
  buf.set(p.payload, off);
  return buf;
}

function encodeConnect(p: ConnectPacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  const name = version === 3 ? 'MQIsdp' : 'MQTT';
  const propsLen = v5 ? propertiesSize(p.properties) : 0;
  const will = p.will;
  const willPropsLen = v5 && will !== undefined ? propertiesSize(will.properties) : 0;
  let remaining = stringSize(name) + 4 + (v5 ? blockSize(propsLen) : 0) + stringSize(p.clientId);
  if (will !== undefined) {
    remaining += (v5 ? blockSize(willPropsLen) : 0) + stringSize(will.topic) + 2 + will.payload.length;
  }
  if (p.username !== undefined) remaining += stringSize(p.username);
  if (p.password !== undefined) remaining += 2 + p.password.length;
  const buf = allocate(0x10, remaining);
  let off = writeString(buf, bodyStart(remaining), name);
  buf[off++] = version | (p.bridge === true ? 0x80 : 0);
  let flags = p.cleanStart ? 0x02 : 0;
  if (will !== undefined) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  buf[off++] = flags;
  off = writeU16(buf, off, p.keepAlive);
  if (v5) off = writeProperties(buf, off, p.properties, propsLen);
  off = writeString(buf, off, p.clientId);
  if (will !== undefined) {
    if (v5) off = writeProperties(buf, off, will.properties, willPropsLen);
    off = writeString(buf, off, will.topic);
    off = writeBinary(buf, off, will.payload);
  }
  if (p.username !== undefined) off = writeString(buf, off, p.username);
  if (p.password !== undefined) writeBinary(buf, off, p.password);
  return buf;
}

/**
 * CONNACKs without properties, one shared buffer per (version family, Session Present, code): every accepted
 * connect sends one, and a fresh 4-byte buffer each was garbage. Written as they are, never modified.
 */
const plainConnacks: (Buffer | undefined)[] = [];

function encodeConnack(p: ConnackPacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  if (!v5 || p.properties === undefined || propertiesSize(p.properties) === 0) {
    const key = ((v5 ? 512 : 0) | (p.sessionPresent ? 256 : 0)) + (p.reasonCode & 0xff);
    let buf = plainConnacks[key];
    if (buf === undefined) {
      buf = ownCopy(encodeConnackNow(p, v5));
      plainConnacks[key] = buf;
    }
    return buf;
  }
  return encodeConnackNow(p, v5);
}

/** A buffer of its own, so that a kept one does not hold a whole output slab. */
function ownCopy(buf: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(own);
  return own;
}

function encodeConnackNow(p: ConnackPacket, v5: boolean): Buffer {
  const propsLen = v5 ? propertiesSize(p.properties) : 0;
  const remaining = 2 + (v5 ? blockSize(propsLen) : 0);
  const buf = allocate(0x20, remaining);
  const off = bodyStart(remaining);
  buf[off] = p.sessionPresent ? 1 : 0;
  buf[off + 1] = p.reasonCode;
  if (v5) writeProperties(buf, off + 2, p.properties, propsLen);
  return buf;
}

function encodeAck(p: AckPacket, version: ProtocolVersion): Buffer {
  const first = (p.type << 4) | (p.type === 6 ? 2 : 0);
  const propsLen = version === 5 ? propertiesSize(p.properties) : 0;
  // Shortest legal form: the reason code and property length may be omitted when they are defaults.
  const withCode = version === 5 && (p.reasonCode !== 0 || propsLen > 0);
  const remaining = 2 + (withCode ? 1 : 0) + (propsLen > 0 ? blockSize(propsLen) : 0);
  const buf = allocate(first, remaining);
  const off = writeU16(buf, bodyStart(remaining), p.packetId);
  if (withCode) buf[off] = p.reasonCode;
  if (propsLen > 0) writeProperties(buf, off + 1, p.properties, propsLen);
  return buf;
}

function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  const propsLen = v5 ? propertiesSize(p.properties) : 0;
  let remaining = 2 + (v5 ? blockSize(propsLen) : 0);
  for (const s of p.subscriptions) remaining += stringSize(s.topicFilter) + 1;
  const buf = allocate(0x82, remaining);
  let off = writeU16(buf, bodyStart(remaining), p.packetId);
  if (v5) off = writeProperties(buf, off, p.properties, propsLen);
  for (const s of p.subscriptions) {
    off = writeString(buf, off, s.topicFilter);
    buf[off++] = v5
      ? s.qos | (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | (s.retainHandling << 4)
      : s.qos;
  }
  return buf;
}

/** SUBACK and UNSUBACK (level 5) share one layout: packet id, properties, one code per filter. */
function encodeCodes(
  first: number,
  packetId: number,
  props: Properties | undefined,
  codes: readonly number[],
  v5: boolean,
): Buffer {
  const propsLen = v5 ? propertiesSize(props) : 0;
  const remaining = 2 + (v5 ? blockSize(propsLen) : 0) + codes.length;
  const buf = allocate(first, remaining);
  let off = writeU16(buf, bodyStart(remaining), packetId);
  if (v5) off = writeProperties(buf, off, props, propsLen);
  for (const c of codes) buf[off++] = c;
  return buf;
}

function encodeSuback(p: SubackPacket, version: ProtocolVersion): Buffer {
  return encodeCodes(0x90, p.packetId, p.properties, p.reasonCodes, version === 5);
}

function encodeUnsuback(p: UnsubackPacket, version: ProtocolVersion): Buffer {
  // 3.1 / 3.1.1 UNSUBACK carries only the packet identifier.
  return encodeCodes(0xb0, p.packetId, p.properties, version === 5 ? p.reasonCodes : [], version === 5);
}

function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  const propsLen = v5 ? propertiesSize(p.properties) : 0;
  let remaining = 2 + (v5 ? blockSize(propsLen) : 0);
  for (const f of p.topicFilters) remaining += stringSize(f);
  const buf = allocate(0xa2, remaining);
  let off = writeU16(buf, bodyStart(remaining), p.packetId);
  if (v5) off = writeProperties(buf, off, p.properties, propsLen);
  for (const f of p.topicFilters) off = writeString(buf, off, f);
  return buf;
}

function encodeDisconnect(p: DisconnectPacket, version: ProtocolVersion): Buffer {
  const propsLen = version === 5 ? propertiesSize(p.properties) : 0;
  if (version !== 5 || (p.reasonCode === 0 && propsLen === 0)) return Buffer.from([0xe0, 0x00]);
  const remaining = 1 + (propsLen > 0 ? blockSize(propsLen) : 0);
  const buf = allocate(0xe0, remaining);
  const off = bodyStart(remaining);
  buf[off] = p.reasonCode;
  if (propsLen > 0) writeProperties(buf, off + 1, p.properties, propsLen);
  return buf;
}

function encodeAuth(p: AuthPacket, version: ProtocolVersion): Buffer {
  if (version !== 5) throw protocolError('MQTT-3.15-level', 'AUTH exists only in MQTT 5');
  const propsLen = propertiesSize(p.properties);
  if (p.reasonCode === 0 && propsLen === 0) return Buffer.from([0xf0, 0x00]);
  const remaining = 1 + blockSize(propsLen);
  const buf = allocate(0xf0, remaining);
  const off = bodyStart(remaining);
  buf[off] = p.reasonCode;
  writeProperties(buf, off + 1, p.properties, propsLen);
  return buf;
}
