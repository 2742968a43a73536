// Body decoders for the 15 MQTT control packets; each validates what the wire alone can tell, per protocol level.

import {
  MqttProtocolError,
  malformed,
  protocolError,
  Rule,
  TOPIC_FILTER_INVALID,
  TOPIC_NAME_INVALID,
  UNSUPPORTED_PROTOCOL_VERSION,
} from './errors.js';
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
} from './packets.js';
import { decodeProperties, WILL_PROPERTIES } from './properties.js';
import type { WireReader } from './reader.js';
import { checkFilterSyntax, exceedsLevels, hasWildcard } from './topic.js';

/** Decodes the body in `r` of a packet whose first fixed-header byte is `first`. Throws MqttProtocolError. */
export function decodePacketBody(first: number, r: WireReader): Packet {
  const type = first >>> 4;
  const flags = first & 0x0f;
  if (type === 3) return decodePublish(flags, r);
  switch (type) {
    case 1:
      expectFlags(flags, 0, 'MQTT-2.1.3-1');
      return decodeConnect(r);
    case 2:
      expectFlags(flags, 0, 'MQTT-2.1.3-1');
      return decodeConnack(r);
    case 4:
    case 5:
    case 7:
      // MQTT 3.1 has no rule on reserved flags (Mosquitto ignores them there); 3.1.1 and 5.0 MUST close.
      if (r.version !== 3) expectFlags(flags, 0, 'MQTT-2.1.3-1');
      return decodeAck(type, r);
    // MQTT 3.1 only says these "use QoS 1"; like Mosquitto, the flags are checked from 3.1.1 on, where they MUST be.
    case 6:
      if (r.version !== 3) expectFlags(flags, 2, 'MQTT-3.6.1-1');
      return decodeAck(type, r);
    case 8:
      if (r.version !== 3) expectFlags(flags, 2, 'MQTT-3.8.1-1');
      return decodeSubscribe(r);
    case 9:
      expectFlags(flags, 0, 'MQTT-2.1.3-1');
      return decodeSuback(r);
    case 10:
      if (r.version !== 3) expectFlags(flags, 2, 'MQTT-3.10.1-1');
      return decodeUnsubscribe(r);
    case 11:
      expectFlags(flags, 0, 'MQTT-2.1.3-1');
      return decodeUnsuback(r);
    case 12:
    case 13:
      expectFlags(flags, 0, 'MQTT-2.1.3-1');
      // MQTT 3.1 does not say a PINGREQ has no payload: Mosquitto answers it whatever follows.
      if (r.version !== 3) r.expectEnd();
      return type === 12 ? { type: 12 } : { type: 13 };
    case 14:
      expectFlags(flags, 0, 'MQTT-2.1.3-1');
      return decodeDisconnect(r);
    case 15:
      if (r.version !== 5) throw malformed(Rule.ReservedType, 'AUTH packet before MQTT 5');
      expectFlags(flags, 0, 'MQTT-2.1.3-1');
      return decodeAuth(r);
    default:
      throw malformed(Rule.ReservedType, 'reserved packet type 0');
  }
}

function expectFlags(flags: number, expected: number, rule: string): void {
  if (flags !== expected) throw malformed(rule, 'reserved fixed header flags have an invalid value');
}

function decodePublish(flags: number, r: WireReader): PublishPacket {
  const qos = (flags >>> 1) & 3;
  if (qos === 3) throw malformed('MQTT-3.3.1-4', 'PUBLISH with QoS 3');
  const dup = (flags & 8) !== 0;
  // [MQTT-3.3.1-2] is 3.1.1's; MQTT 3.1 only says DUP is for QoS > 0 (and Mosquitto accepts it there).
  if (dup && qos === 0 && r.version !== 3) throw malformed('MQTT-3.3.1-2', 'DUP set on a QoS 0 PUBLISH');
  const topic = r.utf8();
  let packetId = 0;
  if (qos > 0) {
    packetId = r.u16();
    if (packetId === 0) throw protocolError('MQTT-2.2.1-3', 'packet identifier 0');
  }
  const properties = r.version === 5 ? decodeProperties(r, 3) : undefined;
  if (topic.length === 0) {
    // An empty topic is only meaningful with a Topic Alias [MQTT-3.3.2-1], [MQTT-4.7.3-1].
    if (properties?.topicAlias === undefined) throw protocolError('MQTT-4.7.3-1', 'empty topic name');
  } else if (hasWildcard(topic)) {
    throw new MqttProtocolError(TOPIC_NAME_INVALID, 'MQTT-3.3.2-2', 'wildcard in PUBLISH topic name');
  } else if (exceedsLevels(topic, r.maxTopicLevels)) {
    // Mosquitto's topic check fails the same way: a DISCONNECT 0x82 for MQTT 5, a silent close for 3.1.1.
    throw protocolError(Rule.TooManyLevels, `topic name has more than ${r.maxTopicLevels} levels`);
  }
  const packet: PublishPacket = {
    type: 3,
    topic,
    payload: r.buf.subarray(r.pos, r.end),
    qos: qos as QoS,
    retain: (flags & 1) !== 0,
    dup,
    packetId,
  };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function connectVersion(name: string, level: number): ProtocolVersion {
  const base = level & 0x7f;
  if (name === 'MQTT') {
    if (base === 4 || base === 5) return base;
  } else if (name === 'MQIsdp') {
    if (base === 3) return 3;
  } else {
    throw new MqttProtocolError(UNSUPPORTED_PROTOCOL_VERSION, Rule.BadProtocolName, `unknown protocol name`);
  }
  throw new MqttProtocolError(
    UNSUPPORTED_PROTOCOL_VERSION,
    Rule.UnsupportedProtocolVersion,
    `unsupported protocol level ${level}`,
  );
}

function decodeConnect(r: WireReader): ConnectPacket {
  const protocolName = r.utf8();
  const level = r.u8();
  const version = connectVersion(protocolName, level);
  r.version = version;
  const flags = r.u8();
  if (flags & 1) throw malformed('MQTT-3.1.2-3', 'CONNECT reserved flag set');
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >>> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (!willFlag && willQos !== 0) throw malformed('MQTT-3.1.2-11', 'Will QoS without Will Flag');
  if (!willFlag && willRetain) throw malformed('MQTT-3.1.2-13', 'Will Retain without Will Flag');
  if (willQos === 3) throw malformed('MQTT-3.1.2-12', 'Will QoS 3');
  if (version !== 5 && hasPassword && !hasUsername) {
    throw protocolError('MQTT-3.1.2-22', 'password without user name');
  }
  const keepAlive = r.u16();
  const properties = version === 5 ? decodeProperties(r, 1) : undefined;
  const packet: ConnectPacket = {
    type: 1,
    protocolName,
    protocolVersion: version,
    cleanStart: (flags & 0x02) !== 0,
    keepAlive,
    clientId: r.utf8(),
  };
  if (willFlag) packet.will = decodeWill(r, version, willQos as QoS, willRetain);
  if (hasUsername) packet.username = r.utf8();
  if (hasPassword) packet.password = r.binary();
  r.expectEnd();
  if (properties !== undefined) packet.properties = properties;
  if (level & 0x80) packet.bridge = true;
  return packet;
}

function decodeWill(r: WireReader, version: ProtocolVersion, qos: QoS, retain: boolean): Will {
  const properties = version === 5 ? decodeProperties(r, WILL_PROPERTIES) : undefined;
  const topic = r.utf8();
  if (topic.length === 0 || hasWildcard(topic)) {
    throw new MqttProtocolError(TOPIC_NAME_INVALID, 'MQTT-3.1.3-11', 'invalid Will Topic');
  }
  // Before CONNACK, so the connection closes without an answer (as Mosquitto).
  if (exceedsLevels(topic, r.maxTopicLevels)) {
    throw protocolError(Rule.TooManyLevels, `Will Topic has more than ${r.maxTopicLevels} levels`);
  }
  const will: Will = { topic, payload: r.binary(), qos, retain };
  if (properties !== undefined) will.properties = properties;
  return will;
}

function decodeConnack(r: WireReader): ConnackPacket {
  const ackFlags = r.u8();
  if (ackFlags & 0xfe) throw malformed('MQTT-3.2.2-1', 'CONNACK reserved flags set');
  const packet: ConnackPacket = { type: 2, sessionPresent: ackFlags === 1, reasonCode: r.u8() };
  if (r.version === 5 && r.remaining() > 0) {
    const properties = decodeProperties(r, 2);
    if (properties !== undefined) packet.properties = properties;
  }
  r.expectEnd();
  return packet;
}

function readPacketId(r: WireReader): number {
  const id = r.u16();
  if (id === 0) throw protocolError('MQTT-2.2.1-3', 'packet identifier 0');
  return id;
}

function decodeAck(type: 4 | 5 | 6 | 7, r: WireReader): AckPacket {
  const packet: AckPacket = { type, packetId: readPacketId(r), reasonCode: 0 };
  if (r.version === 5 && r.remaining() > 0) {
    const rc = r.u8();
    // PUBACK/PUBREC: success, no subscribers or a failure; PUBREL/PUBCOMP: success or id not found.
    const valid = type === 4 || type === 5 ? rc === 0 || rc === 0x10 || rc >= 0x80 : rc === 0 || rc === 0x92;
    if (!valid) throw protocolError('MQTT-3.4.2-1', `invalid reason code 0x${rc.toString(16)}`);
    packet.reasonCode = rc;
    if (r.remaining() > 0) {
      const properties = decodeProperties(r, type);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  r.expectEnd();
  return packet;
}

function decodeSubscribe(r: WireReader): SubscribePacket {
  const packetId = readPacketId(r);
  const v5 = r.version === 5;
  const properties = v5 ? decodeProperties(r, 8) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining() > 0) {
    const topicFilter = r.utf8();
    const options = r.u8();
    if (options & (v5 ? 0xc0 : 0xfc)) {
      throw malformed(v5 ? 'MQTT-3.8.3-5' : 'MQTT-3-8.3-4', 'reserved subscription option bits set');
    }
    const qos = options & 3;
    if (qos === 3) throw malformed('MQTT-3-8.3-4', 'requested QoS 3');
    const retainHandling = (options >>> 4) & 3;
    if (retainHandling === 3) throw protocolError('MQTT-3.8.3-retain-handling', 'retain handling 3');
    const syntax = checkFilterSyntax(topicFilter);
    if (syntax !== null) throw syntax;
    checkFilterLevels(topicFilter, r);
    const noLocal = (options & 4) !== 0;
    if (noLocal && topicFilter.startsWith('$share/')) {
      throw protocolError('MQTT-3.8.3-4', 'No Local on a shared subscription');
    }
    subscriptions.push({
      topicFilter,
      qos: qos as QoS,
      noLocal,
      retainAsPublished: (options & 8) !== 0,
      retainHandling: retainHandling as 0 | 1 | 2,
    });
  }
  // MQTT 3.1 has no "at least one filter" rule (Mosquitto answers an empty SUBACK there).
  if (subscriptions.length === 0 && r.version !== 3)
    throw protocolError('MQTT-3.8.3-3', 'SUBSCRIBE without topic filters');
  const packet: SubscribePacket = { type: 8, packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** Mosquitto treats a too deep filter as a malformed packet: DISCONNECT 0x81 for MQTT 5, silent close for 3.1.1. */
function checkFilterLevels(filter: string, r: WireReader): void {
  if (exceedsLevels(filter, r.maxTopicLevels)) {
    throw malformed(Rule.TooManyLevels, `topic filter has more than ${r.maxTopicLevels} levels`);
  }
}

function decodeSuback(r: WireReader): SubackPacket {
  const packetId = readPacketId(r);
  const properties = r.version === 5 ? decodeProperties(r, 9) : undefined;
  const reasonCodes: number[] = [];
  while (r.remaining() > 0) reasonCodes.push(r.u8());
  if (reasonCodes.length === 0) throw protocolError('MQTT-3.9.3-1', 'SUBACK without reason codes');
  const packet: SubackPacket = { type: 9, packetId, reasonCodes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function decodeUnsubscribe(r: WireReader): UnsubscribePacket {
  const packetId = readPacketId(r);
  const properties = r.version === 5 ? decodeProperties(r, 10) : undefined;
  const topicFilters: string[] = [];
  while (r.remaining() > 0) {
    const filter = r.utf8();
    const syntax = checkFilterSyntax(filter);
    if (syntax !== null) throw new MqttProtocolError(TOPIC_FILTER_INVALID, syntax.rule, syntax.message);
    checkFilterLevels(filter, r);
    topicFilters.push(filter);
  }
  if (topicFilters.length === 0 && r.version !== 3)
    throw protocolError('MQTT-3.10.3-2', 'UNSUBSCRIBE without topic filters');
  const packet: UnsubscribePacket = { type: 10, packetId, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function decodeUnsuback(r: WireReader): UnsubackPacket {
  const packetId = readPacketId(r);
  const reasonCodes: number[] = [];
  const packet: UnsubackPacket = { type: 11, packetId, reasonCodes };
  if (r.version === 5) {
    const properties = decodeProperties(r, 11);
    if (properties !== undefined) packet.properties = properties;
    while (r.remaining() > 0) reasonCodes.push(r.u8());
  }
  r.expectEnd();
  return packet;
}

function decodeDisconnect(r: WireReader): DisconnectPacket {
  const packet: DisconnectPacket = { type: 14, reasonCode: 0 };
  if (r.version === 5 && r.remaining() > 0) {
    packet.reasonCode = r.u8();
    if (r.remaining() > 0) {
      const properties = decodeProperties(r, 14);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  r.expectEnd();
  return packet;
}

function decodeAuth(r: WireReader): AuthPacket {
  const packet: AuthPacket = { type: 15, reasonCode: 0 };
  if (r.remaining() > 0) {
    const rc = r.u8();
    if (rc !== 0 && rc !== 0x18 && rc !== 0x19)
      throw protocolError('MQTT-3.15.2-1', 'invalid AUTH reason code');
    packet.reasonCode = rc;
    if (r.remaining() > 0) {
      const properties = decodeProperties(r, 15);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  r.expectEnd();
  return packet;
}
