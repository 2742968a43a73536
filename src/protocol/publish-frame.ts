// Fan-out PUBLISH encoder: one message serialized once, then written to many subscribers cheaply.

import type { ProtocolVersion, PublishPacket, QoS } from './packets.js';
import { carryWireOrder, type Properties, propertiesSize, writePropertyList } from './properties.js';
import { allocOutput } from './slab.js';
import { utf8Length, varintSize, writeStringOfLength, writeU16, writeU32, writeVarint } from './writer.js';

export interface ByteSink {
  write(chunk: Buffer): unknown;
}

/** Per-subscriber additions to a PUBLISH (MQTT 5 only). */
export interface PublishExtra {
  subscriptionIdentifiers?: readonly number[];
  topicAlias?: number;
  /** Send an empty topic name (the subscriber already knows the alias). */
  omitTopic?: boolean;
  /** Remaining expiry; replaces the message's own Message Expiry Interval. */
  messageExpiryInterval?: number;
}

/** The property block of messages without properties (never written to). */
const NO_PROPS = Buffer.alloc(0);

/** Above this payload size the payload is written as its own chunk instead of being copied. */
const COPY_LIMIT = 1024;

function hasExtra(extra: PublishExtra | undefined): extra is PublishExtra {
  return (
    extra !== undefined &&
    ((extra.subscriptionIdentifiers !== undefined && extra.subscriptionIdentifiers.length > 0) ||
      extra.topicAlias !== undefined ||
      extra.omitTopic === true ||
      extra.messageExpiryInterval !== undefined)
  );
}

export class PublishFrame {
  readonly topic: string;
  readonly payload: Buffer;
  readonly properties: Properties | undefined;

  /** UTF-8 length of the topic; the topic is written straight into each packet (no Buffer per message). */
  private readonly topicLen: number;
  /** Message properties minus those set per subscriber, pre-encoded without a length prefix. */
  private readonly baseProps: Buffer;
  private readonly expiry: number | undefined;
  /** QoS 0 packets without per-subscriber data, indexed by (version - 3) * 2 + retain; made on first use. */
  private qos0: (Buffer | undefined)[] | null = null;
  /**
   * Long-lived frames (retained messages) cache no packets and keep their property block in memory of its own: a
   * slice of the shared output slab would keep the whole 64 KiB slab alive for as long as the message is retained.
   */
  private readonly ownMemory: boolean;

  constructor(topic: string, payload: Buffer, properties?: Properties, ownMemory = false) {
    this.topic = topic;
    this.payload = payload;
    this.properties = properties;
    this.ownMemory = ownMemory;
    this.topicLen = utf8Length(topic);
    let base: Properties | undefined;
    if (properties !== undefined) {
      // Alias and subscription ids belong to one connection; expiry is re-stamped per delivery.
      const { subscriptionIdentifiers: _s, topicAlias: _a, messageExpiryInterval, ...rest } = properties;
      base = rest;
      carryWireOrder(properties, base);
      this.expiry = messageExpiryInterval;
    }
    const baseLen = propertiesSize(base);
    if (baseLen === 0) this.baseProps = NO_PROPS;
    else {
      this.baseProps = ownMemory ? Buffer.allocUnsafeSlow(baseLen) : Buffer.allocUnsafe(baseLen);
      writePropertyList(this.baseProps, 0, base!);
    }
  }

  /** The equivalent packet object, with properties in the order writeTo puts them on the wire. */
  packetFor(
    version: ProtocolVersion,
    qos: QoS,
    retain: boolean,
    dup: boolean,
    packetId: number,
    extra?: PublishExtra,
  ): PublishPacket {
    const packet: PublishPacket = {
      type: 3,
      topic: version === 5 && extra?.omitTopic === true ? '' : this.topic,
      payload: this.payload,
      qos,
      retain,
      dup,
      packetId: qos > 0 ? packetId : 0,
    };
    if (version !== 5) return packet;
    const props: Properties = {};
    if (extra?.subscriptionIdentifiers !== undefined && extra.subscriptionIdentifiers.length > 0) {
      props.subscriptionIdentifiers = [...extra.subscriptionIdentifiers];
    }
    if (this.properties !== undefined) {
      const {
        subscriptionIdentifiers: _s,
        topicAlias: _a,
        messageExpiryInterval: _e,
        ...rest
      } = this.properties;
      Object.assign(props, rest);
    }
    if (extra?.topicAlias !== undefined) props.topicAlias = extra.topicAlias;
    const expiry = extra?.messageExpiryInterval ?? this.expiry;
    if (expiry !== undefined) props.messageExpiryInterval = expiry;
    packet.properties = props;
    return packet;
  }

  /** Size in bytes of the packet writeTo would write (for Maximum Packet Size checks). */
  sizeFor(version: ProtocolVersion, qos: QoS, extra?: PublishExtra): number {
    const remaining = this.headerBody(version, qos, extra) + this.payload.length;
    return 1 + varintSize(remaining) + remaining;
  }

  /** Writes one PUBLISH for one subscriber; returns the number of bytes written. */
  writeTo(
    sink: ByteSink,
    version: ProtocolVersion,
    qos: QoS,
    retain: boolean,
    dup: boolean,
    packetId: number,
    extra?: PublishExtra,
  ): number {
    const custom = version === 5 && hasExtra(extra);
    // A long-lived frame (retained) caches no packet: it is sent now and then, and a cached packet in memory of
    // its own would cost several times a small payload for as long as the message is retained.
    if (qos === 0 && !dup && !custom && !this.ownMemory) {
      const key = (version - 3) * 2 + (retain ? 1 : 0);
      this.qos0 ??= [undefined, undefined, undefined, undefined, undefined, undefined];
      const packets = this.qos0;
      let cached = packets[key];
      if (cached === undefined) {
        cached = this.build(version, 0, retain, false, 0, undefined, true);
        packets[key] = cached;
      }
      sink.write(cached);
      return cached.length;
    }
    const ext = custom ? extra : undefined;
    if (this.payload.length > COPY_LIMIT) {
      // Large payload: small header chunk, then the shared payload buffer untouched.
      const header = this.build(version, qos, retain, dup, packetId, ext, false);
      sink.write(header);
      sink.write(this.payload);
      return header.length + this.payload.length;
    }
    const buf = this.build(version, qos, retain, dup, packetId, ext, true);
    sink.write(buf);
    return buf.length;
  }

  /** Variable header size (topic, packet id, property block) for this subscriber. */
  private headerBody(version: ProtocolVersion, qos: QoS, extra: PublishExtra | undefined): number {
    const v5 = version === 5;
    const omit = v5 && extra?.omitTopic === true;
    let n = 2 + (omit ? 0 : this.topicLen) + (qos > 0 ? 2 : 0);
    if (v5) {
      const propsLen = this.propsLen(extra);
      n += varintSize(propsLen) + propsLen;
    }
    return n;
  }

  private propsLen(extra: PublishExtra | undefined): number {
    let n = this.baseProps.length;
    const ids = extra?.subscriptionIdentifiers;
    if (ids !== undefined) for (const id of ids) n += 1 + varintSize(id);
    if (extra?.topicAlias !== undefined) n += 3;
    if ((extra?.messageExpiryInterval ?? this.expiry) !== undefined) n += 5;
    return n;
  }

  private build(
    version: ProtocolVersion,
    qos: QoS,
    retain: boolean,
    dup: boolean,
    packetId: number,
    extra: PublishExtra | undefined,
    withPayload: boolean,
  ): Buffer {
    const v5 = version === 5;
    const omit = v5 && extra?.omitTopic === true;
    const propsLen = v5 ? this.propsLen(extra) : 0;
    const headerBody =
      2 + (omit ? 0 : this.topicLen) + (qos > 0 ? 2 : 0) + (v5 ? varintSize(propsLen) + propsLen : 0);
    const remaining = headerBody + this.payload.length;
    const headerLen = 1 + varintSize(remaining);
    const buf = allocOutput(headerLen + headerBody + (withPayload ? this.payload.length : 0));
    buf[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
    let off = writeVarint(buf, 1, remaining);
    if (omit) {
      off = writeU16(buf, off, 0);
    } else {
      off = writeStringOfLength(buf, off, this.topic, this.topicLen);
    }
    if (qos > 0) off = writeU16(buf, off, packetId);
    if (v5) {
      off = writeVarint(buf, off, propsLen);
      // Mosquitto's order: subscription identifiers, message properties, then expiry last.
      const ids = extra?.subscriptionIdentifiers;
      if (ids !== undefined) {
        for (const id of ids) {
          buf[off] = 0x0b;
          off = writeVarint(buf, off + 1, id);
        }
      }
      buf.set(this.baseProps, off);
      off += this.baseProps.length;
      if (extra?.topicAlias !== undefined) {
        buf[off] = 0x23;
        off = writeU16(buf, off + 1, extra.topicAlias);
      }
      const expiry = extra?.messageExpiryInterval ?? this.expiry;
      if (expiry !== undefined) {
        buf[off] = 0x02;
        off = writeU32(buf, off + 1, expiry);
      }
    }
    if (withPayload) this.payload.copy(buf, off);
    return buf;
  }
}

/** A copy in an ArrayBuffer of its own (Buffer.from would take a slice of Node's shared 8 KiB pool). */
export function ownCopy(buf: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(copy);
  return copy;
}
