// PUBLISH from a client: topic alias resolution, limits, authorization, routing, and the acknowledgement.

import { isUtf8 } from 'node:buffer';
import type { PublishPacket } from '../../protocol/packets.js';
import { carryWireOrder, type Properties } from '../../protocol/properties.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';
import { dollarWriteAllowed } from '../delivery-acl.js';
import { refuseForMemory } from '../memory-limit.js';
import { Message } from '../message.js';
import { tracePublish } from '../packet-trace.js';

export function handlePublish(conn: Connection, packet: PublishPacket): void {
  const broker = conn.broker;
  // memory_limit: Mosquitto fails to allocate the packet, so nothing of it is handled.
  const memory = broker.memory;
  if (memory !== undefined && !memory.admit(packet.payload.length + packet.topic.length)) {
    refuseForMemory(conn, broker.stats);
    return;
  }
  const v5 = conn.protocolVersion === 5;
  let topic = packet.topic;
  let properties = packet.properties;

  if (v5 && properties !== undefined) {
    const resolved = resolveTopicAlias(conn, topic, properties);
    if (resolved === null) return;
    topic = resolved;
    if (properties.topicAlias !== undefined) properties = withoutAlias(properties);
  } else if (topic === '') {
    // [MQTT-4.7.3-1] a topic name is at least one character long.
    conn.protocolError(ReasonCode.TopicNameInvalid, 'empty topic name');
    return;
  }

  const qos = packet.qos;
  if (qos > conn.context.maxQos) {
    // [MQTT-3.2.2-11] a QoS above the advertised Maximum QoS is a protocol violation.
    conn.protocolError(ReasonCode.QoSNotSupported, `QoS ${qos} above max_qos`);
    return;
  }
  if (packet.retain && !broker.options.retainAvailable) {
    // [MQTT-3.2.2-14] retained PUBLISH when Retain Available is 0.
    conn.protocolError(ReasonCode.RetainNotSupported, 'retain not available');
    return;
  }
  broker.stats.publishReceived[qos]++;
  broker.stats.publishReceivedBytes[qos] += packet.payload.length;
  if (qos === 2) {
    const session = conn.session!;
    if (session.incomingQos2.has(packet.packetId)) {
      if (broker.logger.enabled('debug')) trace(conn, 'Received', packet, topic);
      // Redelivery of a QoS 2 message we already routed: acknowledge again, route nothing [MQTT-4.3.3-10].
      conn.send({ type: 5, packetId: packet.packetId, reasonCode: 0 });
      return;
    }
    // [MQTT-3.3.4-7] more unacknowledged QoS 2 messages than our Receive Maximum.
    const receiveMaximum = broker.options.maxInflightMessages || 65535;
    if (v5 && session.incomingQos2.size >= receiveMaximum) {
      conn.protocolError(ReasonCode.ReceiveMaximumExceeded, 'receive maximum exceeded');
      return;
    }
  }

  const reason = checkPublish(conn, topic, packet, properties);
  if (reason < 0x80 && topic.charCodeAt(0) === 0x24 && conn.context.mountPoint === '' && isControl(topic)) {
    // Mosquitto hands `$CONTROL/...` to the plugin that registered it and never routes or retains it;
    // the acknowledgement is a plain success either way.
    conn.context.hooks.control?.(conn, topic, packet.payload);
    // The command may have disconnected its own sender (an administrator changing itself).
    if (conn.state !== 'closed') acknowledge(conn, packet, 0);
    return;
  }
  if (reason < 0x80) {
    if (broker.logger.enabled('debug')) trace(conn, 'Received', packet, topic);
    if (conn.context.mountPoint !== '') topic = conn.context.mountPoint + topic;
    const expiry = properties?.messageExpiryInterval;
    // Stored messages get their own copy of the payload, so they do not pin the socket's read buffer.
    const payload = qos > 0 || packet.retain ? ownPayload(packet.payload) : packet.payload;
    const message = new Message(
      topic,
      payload,
      qos,
      packet.retain,
      properties,
      conn.clientId,
      // The clock is read only for messages that expire (a clock read per message costs ~3 % of QoS 0 fan-in).
      expiry === undefined ? 0 : broker.now + expiry * 1000,
    );
    // A retained message remembers its publisher, for check_retain_source.
    if (packet.retain) message.source = conn.session!.owner;
    const matched = broker.publish(message, conn.session);
    // 0x10 on PUBACK only, as Mosquitto: a QoS 2 message is routed before its PUBREC is sent here, but
    // Mosquitto routes it on PUBREL and so never has a "no matching subscribers" PUBREC (both are allowed).
    acknowledge(conn, packet, v5 && qos === 1 && matched === 0 ? ReasonCode.NoMatchingSubscribers : 0);
    return;
  }
  if (reason === ReasonCode.PayloadFormatInvalid && qos === 0) {
    conn.protocolError(reason, 'payload is not UTF-8 as its format indicator says');
    return;
  }
  // Refused messages are still acknowledged so the client can go on: 3.1.1 has no way to say no. A 3.1.1
  // PUBACK carries no code on the wire, but Mosquitto's packet trace shows the refusal (rc135): keep it for -v.
  acknowledge(conn, packet, v5 || qos === 1 ? reason : 0);
}

/** Returns 0 when the message may be published, else the reason code it is refused with. */
function checkPublish(
  conn: Connection,
  topic: string,
  packet: PublishPacket,
  properties: Properties | undefined,
): number {
  const broker = conn.broker;
  const limit = broker.options.messageSizeLimit;
  if (limit > 0 && packet.payload.length > limit) {
    if (broker.logger.enabled('debug')) trace(conn, 'Dropped too large', packet, topic);
    return ReasonCode.PacketTooLarge;
  }
  // MQTT 5 §3.3.2.3.2 (no statement id): a receiver may check that a payload said to be UTF-8 really is.
  if (properties?.payloadFormatIndicator === 1 && !isUtf8(packet.payload))
    return ReasonCode.PayloadFormatInvalid;
  // Clients never publish into `$SYS` (bridge state aside) nor to `$share/...`, whatever the ACL says.
  if (!dollarWriteAllowed(topic)) {
    if (broker.logger.enabled('debug')) trace(conn, 'Denied', packet, topic);
    return ReasonCode.NotAuthorized;
  }
  const authorize = conn.context.hooks.authorize;
  if (authorize !== undefined && !authorize(conn, 'write', conn.context.mountPoint + topic, packet)) {
    if (broker.logger.enabled('debug')) trace(conn, 'Denied', packet, topic);
    return ReasonCode.NotAuthorized;
  }
  return 0;
}

/** Mosquitto's PUBLISH trace line, with the topic as routed (mount point included). */
function trace(conn: Connection, verb: string, packet: PublishPacket, topic: string): void {
  const { dup, qos, retain, packetId, payload } = packet;
  tracePublish(conn, verb, dup, qos, retain, packetId, conn.context.mountPoint + topic, payload.length);
}

function isControl(topic: string): boolean {
  return topic.startsWith('$CONTROL/');
}

function acknowledge(conn: Connection, packet: PublishPacket, reasonCode: number): void {
  if (packet.qos === 1) {
    conn.send({ type: 4, packetId: packet.packetId, reasonCode });
  } else if (packet.qos === 2) {
    // A failed PUBREC ends the flow: no PUBREL will follow, so no identifier is kept [MQTT-4.3.3-9].
    if (reasonCode < 0x80) conn.broker.rememberIncomingQos2(conn.session!, packet.packetId);
    conn.send({ type: 5, packetId: packet.packetId, reasonCode });
  }
}

/** Resolves an MQTT 5 topic alias; null when the connection was closed for an invalid one. */
function resolveTopicAlias(conn: Connection, topic: string, properties: Properties): string | null {
  const alias = properties.topicAlias;
  if (alias === undefined) {
    if (topic === '') {
      conn.protocolError(ReasonCode.ProtocolError, 'empty topic without a topic alias');
      return null;
    }
    return topic;
  }
  // [MQTT-3.3.2-9] [MQTT-3.3.2-10] alias 0 or above our Topic Alias Maximum.
  if (alias === 0 || alias > conn.context.maxTopicAlias) {
    conn.protocolError(ReasonCode.TopicAliasInvalid, `topic alias ${alias} out of range`);
    return null;
  }
  conn.topicAliasesIn ??= new Map();
  if (topic !== '') {
    conn.topicAliasesIn.set(alias, topic);
    return topic;
  }
  const known = conn.topicAliasesIn.get(alias);
  if (known === undefined) {
    conn.protocolError(ReasonCode.ProtocolError, `unknown topic alias ${alias}`);
    return null;
  }
  return known;
}

function withoutAlias(properties: Properties): Properties | undefined {
  const copy = { ...properties };
  delete copy.topicAlias;
  carryWireOrder(properties, copy);
  return Object.keys(copy).length === 0 ? undefined : copy;
}

/**
 * A payload that will be stored: copy it when it is a small view of a larger read buffer (so it does not pin the
 * whole chunk), keep it when it already has its own memory (a packet the decoder joined from several chunks).
 */
function ownPayload(payload: Buffer): Buffer {
  return payload.buffer.byteLength > payload.length * 2 + 8192 ? Buffer.from(payload) : payload;
}
