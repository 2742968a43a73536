// Helpers for the MQTT 5 tests: raw MQTT 5 clients with CONNECT properties, and small packet shorthands.

import type {
  AckPacket,
  ConnackPacket,
  ConnectPacket,
  Packet,
  PublishPacket,
  QoS,
  Will,
} from '../../src/protocol/packets.js';
import type { Properties } from '../../src/protocol/properties.js';
import { RawClient } from '../helpers/raw-client.js';

export interface V5Connect {
  clientId?: string;
  clean?: boolean;
  keepAlive?: number;
  properties?: Properties;
  will?: Will;
  username?: string;
}

export function v5ConnectPacket(o: V5Connect = {}): ConnectPacket {
  const p: ConnectPacket = {
    type: 1,
    protocolName: 'MQTT',
    protocolVersion: 5,
    cleanStart: o.clean ?? true,
    keepAlive: o.keepAlive ?? 60,
    clientId: o.clientId ?? '',
  };
  if (o.properties !== undefined) p.properties = o.properties;
  if (o.will !== undefined) p.will = o.will;
  if (o.username !== undefined) p.username = o.username;
  return p;
}

/** Opens a raw MQTT 5 connection and returns it with its CONNACK. */
export async function connect5(
  port: number,
  o: V5Connect = {},
): Promise<{ client: RawClient; connack: ConnackPacket }> {
  const client = await RawClient.open(port);
  client.version = 5;
  client.send(v5ConnectPacket(o));
  const p = await client.next();
  if (p.type !== 2) throw new Error(`expected CONNACK, got ${p.type}`);
  return { client, connack: p };
}

export function publish5(
  topic: string,
  payload: string | Buffer,
  qos: QoS = 0,
  packetId = 0,
  properties?: Properties,
  retain = false,
): PublishPacket {
  const p: PublishPacket = {
    type: 3,
    topic,
    payload: Buffer.from(payload),
    qos,
    retain,
    dup: false,
    packetId: qos === 0 ? 0 : packetId,
  };
  if (properties !== undefined) p.properties = properties;
  return p;
}

export interface SubOptions {
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

/** Subscribes one filter (optionally with a Subscription Identifier) and returns the SUBACK reason codes. */
export async function subscribe5(
  client: RawClient,
  packetId: number,
  filter: string,
  o: SubOptions = {},
  identifier?: number,
): Promise<number[]> {
  const packet: Packet = {
    type: 8,
    packetId,
    subscriptions: [
      {
        topicFilter: filter,
        qos: o.qos ?? 0,
        noLocal: o.noLocal ?? false,
        retainAsPublished: o.retainAsPublished ?? false,
        retainHandling: o.retainHandling ?? 0,
      },
    ],
  };
  if (identifier !== undefined) packet.properties = { subscriptionIdentifiers: [identifier] };
  client.send(packet);
  const ack = await client.nextOfType(9);
  return ack.reasonCodes;
}

/** The next PUBLISH, skipping other packets. */
export function nextPublish(client: RawClient, timeoutMs = 2000): Promise<PublishPacket> {
  return client.nextOfType(3, timeoutMs);
}

/** Resolves when `emitter` fires `event` once, or rejects after `ms`. */
export function once<T>(register: (cb: (value: T) => void) => void, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/** The next acknowledgement of the given type (PUBACK 4, PUBREC 5, PUBREL 6, PUBCOMP 7). */
export async function nextAck(client: RawClient, type: 4 | 5 | 6 | 7, timeoutMs = 2000): Promise<AckPacket> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const p = await client.next(Math.max(1, end - Date.now()));
    if (p.type === type) return p as AckPacket;
  }
}
