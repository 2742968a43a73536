// The decoded form of every MQTT control packet, shared by the codec and the broker.
// One shape serves protocol levels 3, 4 and 5; fields that exist only in MQTT 5 are optional.

import type { Properties } from './properties.js';

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** 3 = MQTT 3.1 ("MQIsdp"), 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 will properties (Will Delay Interval, Message Expiry, Content Type, …). */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 1;
  /** "MQTT" for levels 4 and 5, "MQIsdp" for level 3. */
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1/3.1.1) or Clean Start (5.0). */
  cleanStart: boolean;
  keepAlive: number;
  clientId: string;
  username?: string;
  password?: Buffer;
  will?: Will;
  properties?: Properties;
  /** Mosquitto bridges set bit 7 of the protocol level ("try_private"); true when it was set. */
  bridge?: boolean;
}

export interface ConnackPacket {
  type: 2;
  sessionPresent: boolean;
  /** CONNACK return code (3.1.1: 0-5) or MQTT 5 reason code. */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 3;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** 0 for QoS 0 (no packet identifier on the wire). */
  packetId: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface AckPacket {
  type: 4 | 5 | 6 | 7;
  packetId: number;
  /** 0 (Success) when absent on the wire. */
  reasonCode: number;
  properties?: Properties;
}

export interface Subscription {
  topicFilter: string;
  qos: QoS;
  /** MQTT 5 subscription options; false / 0 for earlier levels. */
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 8;
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 9;
  packetId: number;
  /** Granted QoS (0-2) or a failure / MQTT 5 reason code (>= 0x80), one per filter. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 10;
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 11;
  packetId: number;
  /** One per filter for MQTT 5; empty for 3.1 / 3.1.1, where UNSUBACK carries none. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 12;
}

export interface PingrespPacket {
  type: 13;
}

export interface DisconnectPacket {
  type: 14;
  /** 0 (Normal disconnection) when absent on the wire. */
  reasonCode: number;
  properties?: Properties;
}

export interface AuthPacket {
  type: 15;
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;
