// MQTT 5 properties: identifiers, wire types, and which packet may carry which property.

import { MqttProtocolError, malformed, protocolError, TOPIC_ALIAS_INVALID } from './errors.js';
import type { WireReader } from './reader.js';
import { hasWildcard } from './topic.js';
import {
  stringSize,
  varintSize,
  writeBinary,
  writeString,
  writeU16,
  writeU32,
  writeVarint,
} from './writer.js';

/** Decoded MQTT 5 properties. Only present keys were on the wire; order of user properties is kept. */
/**
 * Key of the wire order of a decoded property block, kept only when User Properties are interleaved with other
 * properties: a forwarded PUBLISH then keeps every property where the publisher put it, as Mosquitto does.
 */
export const WIRE_ORDER: unique symbol = Symbol('wireOrder');

export interface Properties {
  [WIRE_ORDER]?: Uint8Array;
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  /** Several in a PUBLISH sent to a client (one per matching subscription); at most one in SUBSCRIBE. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Buffer;
  requestProblemInformation?: number;
  willDelayInterval?: number;
  requestResponseInformation?: number;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: number;
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: number;
  subscriptionIdentifierAvailable?: number;
  sharedSubscriptionAvailable?: number;
}

/** The name of a wire property (every key of Properties but the wire-order record). */
export type PropertyName = Exclude<keyof Properties, typeof WIRE_ORDER>;

export const PropertyWireType = {
  Byte: 1,
  TwoByteInteger: 2,
  FourByteInteger: 3,
  VariableByteInteger: 4,
  Utf8String: 5,
  BinaryData: 6,
  Utf8StringPair: 7,
} as const;
export type PropertyWireType = (typeof PropertyWireType)[keyof typeof PropertyWireType];

/** Pseudo packet type for the Will Properties of a CONNECT (packet types use 1..15). */
export const WILL_PROPERTIES = 16;

export interface PropertyDefinition {
  readonly id: number;
  readonly name: PropertyName;
  readonly wireType: PropertyWireType;
  /** Packet types (and WILL_PROPERTIES) that may carry it. */
  readonly allowedIn: readonly number[];
  /** Packet types in which it may appear more than once. */
  readonly repeatableIn: readonly number[];
}

const T = PropertyWireType;
const ALL = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, WILL_PROPERTIES];
const PUB_WILL = [3, WILL_PROPERTIES];
const ACKS = [2, 4, 5, 6, 7, 9, 11, 14, 15];

function def(
  id: number,
  name: PropertyName,
  wireType: PropertyWireType,
  allowedIn: readonly number[],
  repeatableIn: readonly number[] = [],
): PropertyDefinition {
  return { id, name, wireType, allowedIn, repeatableIn };
}

/** Table 2-4 of MQTT 5.0. */
export const PROPERTY_DEFINITIONS: readonly PropertyDefinition[] = [
  def(0x01, 'payloadFormatIndicator', T.Byte, PUB_WILL),
  def(0x02, 'messageExpiryInterval', T.FourByteInteger, PUB_WILL),
  def(0x03, 'contentType', T.Utf8String, PUB_WILL),
  def(0x08, 'responseTopic', T.Utf8String, PUB_WILL),
  def(0x09, 'correlationData', T.BinaryData, PUB_WILL),
  def(0x0b, 'subscriptionIdentifiers', T.VariableByteInteger, [3, 8], [3]),
  def(0x11, 'sessionExpiryInterval', T.FourByteInteger, [1, 2, 14]),
  def(0x12, 'assignedClientIdentifier', T.Utf8String, [2]),
  def(0x13, 'serverKeepAlive', T.TwoByteInteger, [2]),
  def(0x15, 'authenticationMethod', T.Utf8String, [1, 2, 15]),
  def(0x16, 'authenticationData', T.BinaryData, [1, 2, 15]),
  def(0x17, 'requestProblemInformation', T.Byte, [1]),
  def(0x18, 'willDelayInterval', T.FourByteInteger, [WILL_PROPERTIES]),
  def(0x19, 'requestResponseInformation', T.Byte, [1]),
  def(0x1a, 'responseInformation', T.Utf8String, [2]),
  def(0x1c, 'serverReference', T.Utf8String, [2, 14]),
  def(0x1f, 'reasonString', T.Utf8String, ACKS),
  def(0x21, 'receiveMaximum', T.TwoByteInteger, [1, 2]),
  def(0x22, 'topicAliasMaximum', T.TwoByteInteger, [1, 2]),
  def(0x23, 'topicAlias', T.TwoByteInteger, [3]),
  def(0x24, 'maximumQoS', T.Byte, [2]),
  def(0x25, 'retainAvailable', T.Byte, [2]),
  def(0x26, 'userProperties', T.Utf8StringPair, ALL, ALL),
  def(0x27, 'maximumPacketSize', T.FourByteInteger, [1, 2]),
  def(0x28, 'wildcardSubscriptionAvailable', T.Byte, [2]),
  def(0x29, 'subscriptionIdentifierAvailable', T.Byte, [2]),
  def(0x2a, 'sharedSubscriptionAvailable', T.Byte, [2]),
];

interface CompiledDefinition extends PropertyDefinition {
  readonly allowedMask: number;
  readonly repeatMask: number;
}

function compile(d: PropertyDefinition): CompiledDefinition {
  let allowedMask = 0;
  let repeatMask = 0;
  for (const t of d.allowedIn) allowedMask |= 1 << t;
  for (const t of d.repeatableIn) repeatMask |= 1 << t;
  return { ...d, allowedMask, repeatMask };
}

const BY_ID: (CompiledDefinition | undefined)[] = [];
const BY_NAME = new Map<string, CompiledDefinition>();
for (const d of PROPERTY_DEFINITIONS) {
  const c = compile(d);
  BY_ID[d.id] = c;
  BY_NAME.set(d.name, c);
}

export function propertyById(id: number): PropertyDefinition | undefined {
  return BY_ID[id];
}

export function propertyByName(name: string): PropertyDefinition | undefined {
  return BY_NAME.get(name);
}

// Values restricted by the spec; a violation is a Protocol Error per each property's section.
function checkValue(name: PropertyName, value: number): MqttProtocolError | null {
  switch (name) {
    case 'payloadFormatIndicator':
    case 'requestProblemInformation':
    case 'requestResponseInformation':
    case 'maximumQoS':
    case 'retainAvailable':
    case 'wildcardSubscriptionAvailable':
    case 'subscriptionIdentifierAvailable':
    case 'sharedSubscriptionAvailable':
      return value > 1 ? protocolError(`MQTT-2.2.2-${name}`, `${name} must be 0 or 1`) : null;
    case 'receiveMaximum':
      return value === 0 ? protocolError('MQTT-3.1.2-receiveMaximum', 'receiveMaximum must not be 0') : null;
    case 'maximumPacketSize':
      return value === 0
        ? protocolError('MQTT-3.1.2-maximumPacketSize', 'maximumPacketSize must not be 0')
        : null;
    case 'topicAlias':
      return value === 0 ? new MqttProtocolError(TOPIC_ALIAS_INVALID, 'MQTT-3.3.2-8', 'topic alias 0') : null;
    case 'subscriptionIdentifiers':
      return value === 0 ? protocolError('MQTT-3.3.4-6', 'subscription identifier 0') : null;
    default:
      return null;
  }
}

/**
 * Reads a property block (length + properties) for `context` (a packet type or WILL_PROPERTIES).
 * Returns undefined for an empty block so that packets without properties stay small.
 */
export function decodeProperties(r: WireReader, context: number): Properties | undefined {
  const length = r.varint();
  if (length === 0) return undefined;
  const end = r.pos + length;
  if (end > r.end) throw malformed('MQTT-2.2.2-length', 'property length exceeds packet');
  const outerEnd = r.end;
  r.end = end;
  const props: Record<string, unknown> = {};
  const bit = 1 << context;
  let count = 0;
  let interleaved = false;
  while (r.pos < end) {
    const id = r.varint();
    // A User Property after others that follow an earlier User Property: the grouped object loses the order.
    if (id === 0x26 && count > 0 && ORDER_SCRATCH[count - 1] !== 0x26 && props.userProperties !== undefined)
      interleaved = true;
    if (count < ORDER_SCRATCH.length) ORDER_SCRATCH[count++] = id;
    const d = BY_ID[id];
    if (d === undefined)
      throw malformed('MQTT-2.2.2-unknown', `unknown property identifier 0x${id.toString(16)}`);
    // "An Identifier which is not valid for its packet type ... is a Malformed Packet" (2.2.2.2).
    if ((d.allowedMask & bit) === 0)
      throw malformed('MQTT-2.2.2-not-allowed', `property ${d.name} not allowed here`);
    const repeatable = (d.repeatMask & bit) !== 0;
    const existing = props[d.name];
    if (existing !== undefined && !repeatable) {
      throw protocolError('MQTT-2.2.2-duplicate', `property ${d.name} included more than once`);
    }
    switch (d.wireType) {
      case T.Utf8StringPair: {
        const pair: [string, string] = [r.utf8(), r.utf8()];
        if (existing === undefined) props[d.name] = [pair];
        else (existing as [string, string][]).push(pair);
        break;
      }
      case T.VariableByteInteger: {
        const v = r.varint();
        const err = checkValue(d.name, v);
        if (err !== null) throw err;
        if (existing === undefined) props[d.name] = [v];
        else (existing as number[]).push(v);
        break;
      }
      case T.Utf8String: {
        const s = r.utf8();
        // Response Topic is a Topic Name: wildcards are a Protocol Error [MQTT-3.3.2-14].
        if (d.id === 0x08 && (s.length === 0 || hasWildcard(s))) {
          throw protocolError('MQTT-3.3.2-14', 'response topic must be a valid topic name');
        }
        props[d.name] = s;
        break;
      }
      case T.BinaryData:
        props[d.name] = r.binary();
        break;
      default: {
        const v = d.wireType === T.Byte ? r.u8() : d.wireType === T.TwoByteInteger ? r.u16() : r.u32();
        const err = checkValue(d.name, v);
        if (err !== null) throw err;
        props[d.name] = v;
      }
    }
  }
  r.end = outerEnd;
  const out = props as Properties;
  // Not enumerable: equality checks and copies of the object ignore it; carryWireOrder passes it on.
  if (interleaved && count < ORDER_SCRATCH.length)
    Object.defineProperty(out, WIRE_ORDER, { value: ORDER_SCRATCH.slice(0, count) });
  return out;
}

/** Property identifiers of the block being decoded (a property takes at least 2 bytes of a packet). */
const ORDER_SCRATCH = new Uint8Array(4096);

function valueSize(d: CompiledDefinition, value: unknown): number {
  switch (d.wireType) {
    case T.Byte:
      return 2;
    case T.TwoByteInteger:
      return 3;
    case T.FourByteInteger:
      return 5;
    case T.Utf8String:
      return 1 + stringSize(value as string);
    case T.BinaryData:
      return 3 + (value as Buffer).length;
    case T.VariableByteInteger: {
      let n = 0;
      for (const v of value as readonly number[]) n += 1 + varintSize(v);
      return n;
    }
    default: {
      let n = 0;
      for (const [k, v] of value as readonly (readonly [string, string])[])
        n += 1 + stringSize(k) + stringSize(v);
      return n;
    }
  }
}

/** Size of the property block body (without its own length prefix). */
export function propertiesSize(props: Properties | undefined): number {
  if (props === undefined) return 0;
  let n = 0;
  for (const name in props) {
    const value = (props as Record<string, unknown>)[name];
    const d = BY_NAME.get(name);
    if (d !== undefined && value !== undefined) n += valueSize(d, value);
  }
  return n;
}

/** Writes the length prefix and the properties, in the object's key order; returns the new offset. */
export function writeProperties(
  buf: Buffer,
  off: number,
  props: Properties | undefined,
  size: number,
): number {
  off = writeVarint(buf, off, size);
  return props === undefined ? off : writePropertyList(buf, off, props);
}

/** Writes the properties alone (no length prefix), in the object's key order; returns the new offset. */
export function writePropertyList(buf: Buffer, off: number, props: Properties): number {
  const order = props[WIRE_ORDER];
  if (order !== undefined) return writeInWireOrder(buf, off, props, order);
  for (const name in props) {
    const value = (props as Record<string, unknown>)[name];
    const d = BY_NAME.get(name);
    if (d === undefined || value === undefined) continue;
    off = writeProperty(buf, off, d, value);
  }
  return off;
}

function writeProperty(buf: Buffer, off: number, d: CompiledDefinition, value: unknown): number {
  switch (d.wireType) {
    case T.Byte:
      buf[off] = d.id;
      buf[off + 1] = value as number;
      return off + 2;
    case T.TwoByteInteger:
      buf[off] = d.id;
      return writeU16(buf, off + 1, value as number);
    case T.FourByteInteger:
      buf[off] = d.id;
      return writeU32(buf, off + 1, value as number);
    case T.Utf8String:
      buf[off] = d.id;
      return writeString(buf, off + 1, value as string);
    case T.BinaryData:
      buf[off] = d.id;
      return writeBinary(buf, off + 1, value as Buffer);
    case T.VariableByteInteger:
      for (const v of value as readonly number[]) {
        buf[off] = d.id;
        off = writeVarint(buf, off + 1, v);
      }
      return off;
    default:
      for (const [k, v] of value as readonly (readonly [string, string])[]) {
        buf[off] = d.id;
        off = writeString(buf, off + 1, k);
        off = writeString(buf, off, v);
      }
      return off;
  }
}

/** Gives `to`, a copy of `from` with some properties left out, the wire order `from` was received in. */
export function carryWireOrder(from: Properties, to: Properties): void {
  const order = from[WIRE_ORDER];
  if (order !== undefined) Object.defineProperty(to, WIRE_ORDER, { value: order });
}

/** Writes properties in the order they were received; properties added since go last. */
function writeInWireOrder(buf: Buffer, off: number, props: Properties, order: Uint8Array): number {
  const record = props as Record<string, unknown>;
  let pair = 0;
  const written = new Set<string>();
  for (const id of order) {
    const d = BY_ID[id];
    if (d === undefined) continue;
    const value = record[d.name];
    if (value === undefined) continue;
    if (id === 0x26) {
      const pairs = value as readonly [string, string][];
      if (pair < pairs.length) off = writeProperty(buf, off, d, [pairs[pair++]]);
    } else if (!written.has(d.name)) {
      off = writeProperty(buf, off, d, value);
    }
    written.add(d.name);
  }
  for (const name in record) {
    const d = BY_NAME.get(name);
    const value = record[name];
    if (d === undefined || value === undefined) continue;
    if (name === 'userProperties') {
      const pairs = value as readonly [string, string][];
      if (pair < pairs.length) off = writeProperty(buf, off, d, pairs.slice(pair));
    } else if (!written.has(name)) off = writeProperty(buf, off, d, value);
  }
  return off;
}
