// The typed form of one mosquitto.conf `connection` section (Mosquitto 2.0 bridge options plus 2.1's MQTT 5 ones).

import type { QoS } from '../protocol/packets.js';

export type BridgeDirection = 'out' | 'in' | 'both';

/** One `topic pattern [[[out|in|both] qos] local-prefix remote-prefix]` line, with both full topics worked out. */
export interface BridgeTopic {
  /** The pattern as written ('' for the `""` place marker). */
  pattern: string;
  direction: BridgeDirection;
  qos: QoS;
  localPrefix: string;
  remotePrefix: string;
  /** Filter subscribed on the local broker: local prefix + pattern. */
  localTopic: string;
  /** Filter subscribed on the remote broker: remote prefix + pattern. */
  remoteTopic: string;
}

export interface BridgeAddress {
  host: string;
  port: number;
}

/** `restart_timeout`: a constant delay, or Decorrelated Jitter between base and cap (seconds). */
export type RestartTimeout =
  | { kind: 'constant'; seconds: number }
  | { kind: 'jitter'; base: number; cap: number };

export interface BridgeTlsOptions {
  cafile?: string;
  capath?: string;
  certfile?: string;
  keyfile?: string;
  /** `bridge_insecure`: skip the host name check of the remote certificate. */
  insecure: boolean;
  alpn?: string;
  /** `bridge_tls_version`: tlsv1.3, tlsv1.2 or tlsv1.1 (Mosquitto's default tlsv1.2 means "at least 1.2"). */
  version?: string;
  /** 2.1's `bridge_tls_use_os_certs`: trust the system CA store (Node's bundled roots) too. */
  useOsCerts: boolean;
  /** `bridge_identity` / `bridge_psk` (hex): TLS-PSK instead of certificates. */
  identity?: string;
  psk?: string;
}

export interface BridgeConfig {
  /** `connection NAME`. */
  name: string;
  addresses: BridgeAddress[];
  roundRobin: boolean;
  topics: BridgeTopic[];
  /** 3 = mqttv31, 4 = mqttv311 (default), 5 = mqttv50. */
  protocolVersion: 3 | 4 | 5;
  cleanSession: boolean;
  /** Defaults to cleanSession. */
  localCleanSession: boolean;
  remoteClientId: string;
  localClientId: string;
  remoteUsername?: string;
  remotePassword?: string;
  localUsername?: string;
  localPassword?: string;
  keepaliveInterval: number;
  idleTimeout: number;
  restartTimeout: RestartTimeout;
  startType: 'automatic' | 'lazy' | 'once';
  threshold: number;
  notifications: boolean;
  notificationsLocalOnly: boolean;
  notificationTopic: string;
  tryPrivate: boolean;
  attemptUnsubscribe: boolean;
  outgoingRetain: boolean;
  /** `bridge_max_packet_size`; 0 = unlimited. */
  maxPacketSize: number;
  bindAddress?: string;
  tls?: BridgeTlsOptions;
  /** 2.1: MQTT 5 Session Expiry Interval asked of the remote broker (seconds). */
  sessionExpiryInterval?: number;
  /** 2.1: MQTT 5 Receive Maximum announced to the remote broker. */
  receiveMaximum?: number;
  /** 2.1: Topic Alias Maximum announced to the remote broker. */
  maxTopicAlias?: number;
  /** 2.1 `bridge_tcp_keepalive idle interval count` (seconds, seconds, probes); Node sets only the idle time. */
  tcpKeepalive?: { idle: number; interval: number; count: number };
  /** Where the `connection` line was written, for messages. */
  site: { file: string; line: number };
}
