// Converts between Culex packets and mqtt-packet's objects, so mqtt-packet can serve as a test oracle.

import mqtt from 'mqtt-packet';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import type { Properties } from '../../src/protocol/properties.js';

type Obj = Record<string, unknown>;

const BOOLEAN_PROPS = new Set([
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifierAvailable',
  'sharedSubscriptionAvailable',
]);

function groupUserProps(pairs: readonly (readonly [string, string])[]): Obj {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (Array.isArray(cur)) cur.push(v);
    else out[k] = [cur, v];
  }
  return out;
}

function propsToMp(p: Properties | undefined, type: number): Obj | undefined {
  if (p === undefined) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'userProperties') out[k] = groupUserProps(v as [string, string][]);
    else if (k === 'subscriptionIdentifiers')
      out.subscriptionIdentifier = type === 3 && (v as number[]).length > 1 ? v : (v as number[])[0];
    else if (k === 'subscriptionIdentifierAvailable') out.subscriptionIdentifiersAvailable = v === 1;
    else if (BOOLEAN_PROPS.has(k)) out[k] = v === 1;
    else out[k] = v;
  }
  return out;
}

function propsFromMp(o: unknown): Properties | undefined {
  if (o === undefined || o === null) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(o as Obj)) {
    if (k === 'userProperties') {
      const pairs: [string, string][] = [];
      for (const [uk, uv] of Object.entries(v as Obj)) {
        for (const x of Array.isArray(uv) ? uv : [uv]) pairs.push([uk, String(x)]);
      }
      out[k] = pairs;
    } else if (k === 'subscriptionIdentifier') out.subscriptionIdentifiers = Array.isArray(v) ? v : [v];
    else if (k === 'subscriptionIdentifiersAvailable') out.subscriptionIdentifierAvailable = v ? 1 : 0;
    else if (typeof v === 'boolean') out[k] = v ? 1 : 0;
    else out[k] = v;
  }
  return Object.keys(out).length === 0 ? undefined : (out as Properties);
}

const CMD = [
  '',
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
] as const;

function withProps(o: Obj, p: Properties | undefined, type: number): Obj {
  const mp = propsToMp(p, type);
  if (mp !== undefined) o.properties = mp;
  return o;
}

export function toMqttPacket(p: Packet, v: ProtocolVersion): Obj {
  const cmd = CMD[p.type];
  switch (p.type) {
    case 1: {
      const o: Obj = {
        cmd,
        protocolId: p.protocolName,
        protocolVersion: v,
        clean: p.cleanStart,
        keepalive: p.keepAlive,
        clientId: p.clientId,
      };
      if (p.username !== undefined) o.username = p.username;
      if (p.password !== undefined) o.password = p.password;
      if (p.will !== undefined)
        o.will = withProps(
          { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain },
          p.will.properties,
          16,
        );
      return withProps(o, p.properties, 1);
    }
    case 2:
      return withProps(
        { cmd, sessionPresent: p.sessionPresent, [v === 5 ? 'reasonCode' : 'returnCode']: p.reasonCode },
        p.properties,
        2,
      );
    case 3:
      return withProps(
        {
          cmd,
          topic: p.topic,
          payload: p.payload,
          qos: p.qos,
          retain: p.retain,
          dup: p.dup,
          messageId: p.qos > 0 ? p.packetId : undefined,
        },
        p.properties,
        3,
      );
    case 4:
    case 5:
    case 6:
    case 7:
      return withProps({ cmd, messageId: p.packetId, reasonCode: p.reasonCode }, p.properties, p.type);
    case 8:
      return withProps(
        {
          cmd,
          messageId: p.packetId,
          subscriptions: p.subscriptions.map((s) => ({
            topic: s.topicFilter,
            qos: s.qos,
            nl: s.noLocal,
            rap: s.retainAsPublished,
            rh: s.retainHandling,
          })),
        },
        p.properties,
        8,
      );
    case 9:
      return withProps({ cmd, messageId: p.packetId, granted: p.reasonCodes }, p.properties, 9);
    case 10:
      return withProps({ cmd, messageId: p.packetId, unsubscriptions: p.topicFilters }, p.properties, 10);
    case 11:
      return withProps({ cmd, messageId: p.packetId, granted: p.reasonCodes }, p.properties, 11);
    case 12:
    case 13:
      return { cmd };
    case 14:
    case 15:
      return withProps({ cmd, reasonCode: p.reasonCode }, p.properties, p.type);
  }
}

function addProps<T extends Packet>(p: T, o: Obj): T {
  const props = propsFromMp(o.properties);
  if (props !== undefined) (p as { properties?: Properties }).properties = props;
  return p;
}

export function fromMqttPacket(o: Obj, v: ProtocolVersion): Packet {
  const n = (x: unknown) => (typeof x === 'number' ? x : 0);
  switch (o.cmd) {
    case 'connect': {
      const p: Packet = {
        type: 1,
        protocolName: String(o.protocolId),
        protocolVersion: v,
        cleanStart: o.clean === true,
        keepAlive: n(o.keepalive),
        clientId: String(o.clientId),
      };
      if (o.username !== undefined) p.username = String(o.username);
      if (o.password !== undefined) p.password = o.password as Buffer;
      const w = o.will as Obj | undefined;
      if (w !== undefined && w !== null) {
        const props = propsFromMp(w.properties);
        p.will = {
          topic: String(w.topic),
          payload: w.payload as Buffer,
          qos: n(w.qos) as 0,
          retain: w.retain === true,
        };
        if (props !== undefined) p.will.properties = props;
      }
      return addProps(p, o);
    }
    case 'connack':
      return addProps(
        {
          type: 2,
          sessionPresent: o.sessionPresent === true,
          reasonCode: n(v === 5 ? o.reasonCode : o.returnCode),
        },
        o,
      );
    case 'publish':
      return addProps(
        {
          type: 3,
          topic: String(o.topic),
          payload: o.payload as Buffer,
          qos: n(o.qos) as 0,
          retain: o.retain === true,
          dup: o.dup === true,
          packetId: n(o.messageId),
        },
        o,
      );
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return addProps(
        { type: CMD.indexOf(o.cmd) as 4, packetId: n(o.messageId), reasonCode: n(o.reasonCode) },
        o,
      );
    case 'subscribe':
      return addProps(
        {
          type: 8,
          packetId: n(o.messageId),
          subscriptions: (o.subscriptions as Obj[]).map((s) => ({
            topicFilter: String(s.topic),
            qos: n(s.qos) as 0,
            noLocal: s.nl === true,
            retainAsPublished: s.rap === true,
            retainHandling: n(s.rh) as 0,
          })),
        },
        o,
      );
    case 'suback':
      return addProps({ type: 9, packetId: n(o.messageId), reasonCodes: o.granted as number[] }, o);
    case 'unsubscribe':
      return addProps({ type: 10, packetId: n(o.messageId), topicFilters: o.unsubscriptions as string[] }, o);
    case 'unsuback':
      return addProps(
        { type: 11, packetId: n(o.messageId), reasonCodes: (o.granted as number[] | undefined) ?? [] },
        o,
      );
    case 'pingreq':
      return { type: 12 };
    case 'pingresp':
      return { type: 13 };
    case 'disconnect':
      return addProps({ type: 14, reasonCode: n(o.reasonCode) }, o);
    default:
      return addProps({ type: 15, reasonCode: n(o.reasonCode) }, o);
  }
}

/** Parses bytes with mqtt-packet at level v; returns parsed objects and errors. */
export function mqttParse(bytes: Buffer, v: ProtocolVersion): { packets: Obj[]; errors: Error[] } {
  const parser = mqtt.parser({ protocolVersion: v });
  const packets: Obj[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p: unknown) => packets.push(p as Obj));
  parser.on('error', (e: Error) => errors.push(e));
  parser.parse(bytes);
  return { packets, errors };
}

export function mqttGenerate(o: Obj, v: ProtocolVersion): Buffer {
  return mqtt.generate(o as never, { protocolVersion: v });
}

function distinct(pairs: readonly [string, string][]): [string, string][] {
  const seen = new Set<string>();
  return pairs.filter(([k, v]) => {
    const key = JSON.stringify([k, v]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Canonical form for comparing: user properties grouped by key (mqtt-packet loses their interleaving). */
export function canonical(p: Packet): unknown {
  const walk = (x: unknown): unknown => {
    if (Buffer.isBuffer(x)) return { buffer: [...x] };
    if (Array.isArray(x)) return x.map(walk);
    if (x !== null && typeof x === 'object') {
      const out: Obj = {};
      for (const [k, v] of Object.entries(x)) {
        if (v === undefined) continue;
        // mqtt-packet also collapses repeated identical pairs, so compare the set of distinct pairs.
        out[k] = k === 'userProperties' ? walk(groupUserProps(distinct(v as [string, string][]))) : walk(v);
      }
      return out;
    }
    return x;
  };
  return walk(p);
}
