// The packets a bridge makes itself: its two CONNECTs, its subscriptions, its state notifications.

import { withPeer } from '../broker/bridge-peer.js';
import type { ConnectPacket, Packet, PublishPacket, QoS, Subscription } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import type { BridgeConfig } from './bridge-config.js';

export const SESSION_NEVER_EXPIRES = 0xffff_ffff;

/** MQTT 3.1.1 CONNACK return codes, worded as Mosquitto logs them. */
const REFUSED: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'broker unavailable',
  4: 'bad user name or password',
  5: 'not authorised',
};

export function refusalReason(version: number, code: number, reasonString: string | undefined): string {
  if (version === 5) return reasonString ?? `reason code 0x${code.toString(16)}`;
  return REFUSED[code] ?? `return code ${code}`;
}

/** CONNECT to the remote broker: try_private sets bit 7 of the level, the will says the link is down. */
export function remoteConnect(config: BridgeConfig, tryPrivate: boolean, brokerId: string): ConnectPacket {
  const connect: ConnectPacket = {
    type: 1,
    protocolName: config.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: config.protocolVersion,
    cleanStart: config.cleanSession,
    keepAlive: config.keepaliveInterval,
    clientId: config.remoteClientId,
    bridge: tryPrivate,
  };
  if (config.remoteUsername !== undefined) connect.username = config.remoteUsername;
  if (config.remotePassword !== undefined) connect.password = Buffer.from(config.remotePassword);
  if (config.notifications && !config.notificationsLocalOnly) {
    connect.will = { topic: config.notificationTopic, payload: Buffer.from('0'), qos: 1, retain: true };
  }
  if (config.protocolVersion === 5) {
    const properties: Properties = {};
    // Without bridge_session_expiry_interval a persistent (cleansession false) bridge keeps its remote
    // session for good, as a 3.1.1 bridge does: a bridge that reconnects must find what the remote held.
    const expiry = config.sessionExpiryInterval ?? (config.cleanSession ? 0 : SESSION_NEVER_EXPIRES);
    if (expiry > 0) properties.sessionExpiryInterval = expiry;
    if (config.receiveMaximum !== undefined) properties.receiveMaximum = config.receiveMaximum;
    if ((config.maxTopicAlias ?? 0) > 0) properties.topicAliasMaximum = config.maxTopicAlias!;
    if (config.maxPacketSize > 0) properties.maximumPacketSize = config.maxPacketSize;
    connect.properties = withPeer(properties, brokerId);
  }
  return connect;
}

/** CONNECT to the local broker (always MQTT 5): local_cleansession false keeps the session for good. */
export function localConnect(config: BridgeConfig, remotePeer?: string): ConnectPacket {
  const connect: ConnectPacket = {
    type: 1,
    protocolName: 'MQTT',
    protocolVersion: 5,
    cleanStart: config.localCleanSession,
    keepAlive: 0,
    clientId: config.localClientId,
    properties: { sessionExpiryInterval: config.localCleanSession ? 0 : SESSION_NEVER_EXPIRES },
  };
  // The remote Culex named itself: the local session then never gets back what came from that broker.
  if (remotePeer !== undefined) withPeer(connect.properties!, remotePeer);
  if (config.localUsername !== undefined) connect.username = config.localUsername;
  if (config.localPassword !== undefined) connect.password = Buffer.from(config.localPassword);
  return connect;
}

function subscriptions(
  config: BridgeConfig,
  side: 'local' | 'remote',
  retainHandling: 0 | 2,
  maxQos: QoS = 2,
): Subscription[] {
  const skip = side === 'local' ? 'in' : 'out';
  return config.topics
    .filter((t) => t.direction !== skip)
    .map((t) => ({
      topicFilter: side === 'local' ? t.localTopic : t.remoteTopic,
      qos: Math.min(t.qos, maxQos) as QoS,
      // As Mosquitto's bridge context subscribes locally; on an MQTT 5 remote this is the loop prevention.
      noLocal: true,
      retainAsPublished: true,
      retainHandling,
    }));
}

/**
 * Local subscriptions to the out / both topics (retainHandling 2 while only priming the session), if any. An
 * MQTT 5 remote's Maximum QoS caps them, so the local broker never hands the bridge more than the remote takes.
 */
export function localSubscribe(
  config: BridgeConfig,
  retainHandling: 0 | 2,
  maxQos: QoS = 2,
): Packet | undefined {
  const subs = subscriptions(config, 'local', retainHandling, maxQos);
  return subs.length === 0 ? undefined : { type: 8, packetId: 1, subscriptions: subs };
}

/** Remote subscriptions to the in / both topics, or undefined when there are none. */
export function remoteSubscribe(config: BridgeConfig, packetId: number): Packet | undefined {
  const subs = subscriptions(config, 'remote', 0);
  return subs.length === 0 ? undefined : { type: 8, packetId, subscriptions: subs };
}

/** bridge_attempt_unsubscribe: the out-only topics, so a direction changed from in to out stops importing. */
export function remoteUnsubscribe(config: BridgeConfig, packetId: number): Packet | undefined {
  if (!config.attemptUnsubscribe) return undefined;
  const filters = config.topics.filter((t) => t.direction === 'out').map((t) => t.remoteTopic);
  return filters.length === 0 ? undefined : { type: 10, packetId, topicFilters: filters };
}

/** The retained QoS 1 "1" / "0" on the notification topic. */
export function statePublish(config: BridgeConfig, packetId: number, value: '0' | '1'): PublishPacket {
  return {
    type: 3,
    topic: config.notificationTopic,
    payload: Buffer.from(value),
    qos: 1,
    retain: true,
    dup: false,
    packetId,
  };
}
