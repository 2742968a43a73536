// Typed codec error: every decode/validation failure carries the MQTT reason code and the rule it breaks.

/** Reason codes used by codec errors (subset of ReasonCode, repeated here to keep this file dependency-free). */
export const MALFORMED_PACKET = 0x81;
export const PROTOCOL_ERROR = 0x82;
export const UNSUPPORTED_PROTOCOL_VERSION = 0x84;
export const TOPIC_FILTER_INVALID = 0x8f;
export const TOPIC_NAME_INVALID = 0x90;
export const TOPIC_ALIAS_INVALID = 0x94;
export const PACKET_TOO_LARGE = 0x95;
export const PAYLOAD_FORMAT_INVALID = 0x99;

/**
 * Rule ids that are not normative statements but that the broker must tell apart.
 * `UnsupportedProtocolVersion`: the CONNECT named a known protocol with an unknown level; the broker answers
 * CONNACK 0x01 (3.1.1 form) / 0x84 and closes. `BadProtocolName`: close without CONNACK (as Mosquitto does).
 */
export const Rule = {
  UnsupportedProtocolVersion: 'MQTT-3.1.2-2',
  BadProtocolName: 'MQTT-3.1.2-1',
  PacketTooLarge: 'packet-too-large',
  VarintTooLong: 'MQTT-1.5.5-varint',
  Truncated: 'truncated',
  TrailingBytes: 'trailing-bytes',
  ReservedType: 'MQTT-2.1.3-reserved-type',
  ReservedFlags: 'MQTT-2.1.3-1',
  Internal: 'internal-error',
  /** A topic name or filter deeper than the decoder's maxTopicLevels (Mosquitto: more than 200 separators). */
  TooManyLevels: 'topic-levels',
  /** A first packet that is not CONNECT [MQTT-3.1.0-1], refused from its first byte. */
  FirstNotConnect: 'MQTT-3.1.0-1',
} as const;

export class MqttProtocolError extends Error {
  /** MQTT 5 reason code best describing the failure (0x81 Malformed Packet, 0x82 Protocol Error, …). */
  readonly reasonCode: number;
  /** Normative statement id (e.g. 'MQTT-3.3.1-4') or a short id from `Rule`. */
  readonly rule: string;

  constructor(reasonCode: number, rule: string, message: string) {
    super(`${message} [${rule}]`);
    this.name = 'MqttProtocolError';
    this.reasonCode = reasonCode;
    this.rule = rule;
  }
}

export function malformed(rule: string, message: string): MqttProtocolError {
  return new MqttProtocolError(MALFORMED_PACKET, rule, message);
}

export function protocolError(rule: string, message: string): MqttProtocolError {
  return new MqttProtocolError(PROTOCOL_ERROR, rule, message);
}
