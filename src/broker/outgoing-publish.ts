// Outgoing PUBLISH beyond the fast path: the listener's mount point, and MQTT 5's per-client parts (message
// expiry left, subscription identifiers, topic aliases, the client's Maximum Packet Size).

import type { QoS } from '../protocol/packets.js';
import { type PublishExtra, PublishFrame } from '../protocol/publish-frame.js';
import type { Connection } from './connection.js';
import type { Message } from './message.js';
import { tracePublish } from './packet-trace.js';

/** Mosquitto logs the topic without the mount point, and before its Maximum Packet Size check. */
export function tracePublishOut(
  conn: Connection,
  message: Message,
  qos: QoS,
  retain: boolean,
  dup: boolean,
  packetId: number,
): void {
  const mount = conn.context.mountPoint;
  const topic =
    mount !== '' && message.topic.startsWith(mount) ? message.topic.slice(mount.length) : message.topic;
  tracePublish(conn, 'Sending', dup, qos, retain, packetId, topic, message.payload.length);
}

export function sendPublishSlow(
  conn: Connection,
  message: Message,
  qos: QoS,
  retain: boolean,
  dup: boolean,
  packetId: number,
  subIds: number[] | undefined,
): boolean {
  let frame = message.frame;
  const mount = conn.context.mountPoint;
  if (mount !== '' && message.topic.startsWith(mount)) {
    frame = new PublishFrame(message.topic.slice(mount.length), message.payload, message.properties);
  }
  if (conn.protocolVersion !== 5) {
    frame.writeTo(conn, conn.protocolVersion, qos, retain, dup, packetId);
    return true;
  }
  const expiry = message.remainingExpiry(conn.broker.now);
  const extra: PublishExtra = {};
  if (subIds !== undefined) extra.subscriptionIdentifiers = subIds;
  if (expiry !== undefined) extra.messageExpiryInterval = expiry;
  const aliases = conn.topicAliasesOut;
  const alias = aliases === undefined ? undefined : aliases.choose(frame.topic);
  if (alias !== undefined) extra.topicAlias = alias.alias;
  // [MQTT-3.1.2-25] never send a packet larger than the client's Maximum Packet Size: drop it instead.
  // Measured with the topic name included, so the result does not depend on the alias state.
  if (conn.maximumPacketSize !== 0 && frame.sizeFor(5, qos, extra) > conn.maximumPacketSize) {
    conn.broker.stats.droppedTooLarge++;
    return false;
  }
  if (alias !== undefined) {
    if (alias.omitTopic) extra.omitTopic = true;
    aliases!.commit(frame.topic, alias);
  }
  frame.writeTo(conn, 5, qos, retain, dup, packetId, extra);
  return true;
}
