// How the Redis store writes its records: a message as one binary value (a length-prefixed JSON header, then
// the payload as is, never base64), the small records (deliveries, subscriptions, wills) as JSON text.

import type { QoS, Will } from '../protocol/packets.js';
import { decodeProperties, encodeProperties } from './json-codec.js';
import type { DeliveryRecord, MessageRecord, StoredMessage, SubscriptionRecord } from './store.js';

interface MessageHeader {
  t: string;
  q: QoS;
  r: 0 | 1;
  p: string | null;
  o: string;
  e: number;
  su?: string | null;
  sp?: number;
  /** The cluster-wide id: origin node's epoch, sequence. */
  x?: [number, number];
}

/** One value for a message: u32 header length, the JSON header, the payload. */
export function encodeMessage(m: MessageRecord): Buffer {
  const header: MessageHeader = {
    t: m.topic,
    q: m.qos,
    r: m.retain ? 1 : 0,
    p: encodeProperties(m.properties),
    o: m.origin,
    e: m.expiresAt,
  };
  if (m.source !== undefined) {
    header.su = m.source.username ?? null;
    header.sp = m.source.listenerPort;
  }
  if (m.clusterSeq !== undefined && m.clusterSeq !== 0) header.x = [m.clusterEpoch ?? 0, m.clusterSeq];
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(4 + json.length + m.payload.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  m.payload.copy(out, 4 + json.length);
  return out;
}

export function decodeMessage(id: number, data: Buffer): StoredMessage {
  const length = data.readUInt32BE(0);
  const h = JSON.parse(data.toString('utf8', 4, 4 + length)) as MessageHeader;
  return {
    id,
    topic: h.t,
    // Its own copy: the reply buffer may be large and the message may be kept for long.
    payload: Buffer.from(data.subarray(4 + length)),
    qos: h.q,
    retain: h.r === 1,
    properties: decodeProperties(h.p),
    origin: h.o,
    expiresAt: h.e,
    source: h.sp === undefined ? undefined : { username: h.su ?? undefined, listenerPort: h.sp },
    clusterEpoch: h.x?.[0] ?? 0,
    clusterSeq: h.x?.[1] ?? 0,
  };
}

/** The part of a delivery that never changes; packet id and QoS 2 state are kept apart (deliveryState). */
export interface DeliveryHeader {
  /** Order within the session (creation order, kept across nodes). */
  o: number;
  /** The message's key (redis-keys.ts `message`). */
  m: string;
  q: 1 | 2;
  r: 0 | 1;
  s: readonly number[] | null;
  g: string | null;
  f: string | null;
}

export function encodeDelivery(order: number, messageKey: string, d: DeliveryRecord): string {
  const group = d.group;
  const h: DeliveryHeader = {
    o: order,
    m: messageKey,
    q: d.qos as 1 | 2,
    r: d.retain ? 1 : 0,
    s: d.subscriptionIds ?? null,
    g: group === undefined ? null : group.name,
    f: group === undefined ? null : group.filter,
  };
  return JSON.stringify(h);
}

export function decodeDelivery(text: string): DeliveryHeader {
  return JSON.parse(text) as DeliveryHeader;
}

/** `packetId:released` */
export function encodeDeliveryState(d: DeliveryRecord): string {
  return `${d.packetId}:${d.released ? 1 : 0}`;
}

export function decodeDeliveryState(text: string | undefined): { packetId: number; released: boolean } {
  if (text === undefined) return { packetId: 0, released: false };
  const colon = text.indexOf(':');
  return { packetId: Number(text.slice(0, colon)), released: text.slice(colon + 1) === '1' };
}

export function encodeSubscription(s: SubscriptionRecord): string {
  return JSON.stringify({
    filter: s.filter,
    matchFilter: s.matchFilter,
    shareGroup: s.shareGroup ?? null,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
    identifier: s.identifier,
  });
}

export function decodeSubscription(text: string): SubscriptionRecord {
  const s = JSON.parse(text) as Omit<SubscriptionRecord, 'shareGroup'> & { shareGroup: string | null };
  return { ...s, shareGroup: s.shareGroup ?? undefined };
}

interface WillText {
  t: string;
  p: string;
  q: QoS;
  r: boolean;
  pr: string | null;
  due: number;
  delay: number;
}

export function encodeWill(will: Will, dueAt: number, delay: number): string {
  const w: WillText = {
    t: will.topic,
    p: will.payload.toString('base64'),
    q: will.qos,
    r: will.retain,
    pr: encodeProperties(will.properties),
    due: dueAt,
    delay,
  };
  return JSON.stringify(w);
}

export function decodeWill(text: string): { will: Will; dueAt: number; delay: number } {
  const w = JSON.parse(text) as WillText;
  const properties = decodeProperties(w.pr);
  const will: Will = { topic: w.t, payload: Buffer.from(w.p, 'base64'), qos: w.q, retain: w.r };
  if (properties !== undefined) will.properties = properties;
  return { will, dueAt: w.due, delay: w.delay };
}
