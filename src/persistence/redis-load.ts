// Reading sessions back from Redis: one client's state (at takeover, adoption, or a node's start-up), with its
// deliveries in creation order, their packet identifiers and QoS 2 state, incoming QoS 2 ids and the will.

import type { RedisClient } from './redis-client.js';
import {
  type DeliveryHeader,
  decodeDelivery,
  decodeDeliveryState,
  decodeMessage,
  decodeSubscription,
  decodeWill,
} from './redis-codec.js';
import type { RedisKeys } from './redis-keys.js';
import type {
  DeliveryRecord,
  RestoredState,
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from './store.js';

/** Everything one client's session holds in Redis. */
export interface ClientState {
  session: StoredSession;
  subscriptions: StoredSubscription[];
  /** Creation order. */
  deliveries: StoredDelivery[];
  incomingQos2: Array<{ clientId: string; packetId: number }>;
  will: StoredWill | undefined;
}

/** What the store learns while reading: the Redis names of what it hands back under local numbers. */
export interface LoadedNames {
  /** A local (negative) message id for a message key, the same one for every delivery of this read. */
  messageId(key: string): number;
  /** A local (negative) delivery seq for a delivery field of `clientId`. */
  deliverySeq(clientId: string, field: string): number;
  /** The highest order number seen, so that new deliveries come after. */
  seenOrder(order: number): void;
}

interface RawDelivery {
  field: string;
  header: DeliveryHeader;
}

/** Reads one client's session; undefined when there is none. Expired messages are left out (`dropped` lists them). */
export async function readClient(
  redis: RedisClient,
  keys: RedisKeys,
  clientId: string,
  names: LoadedNames,
  now: number,
  dropped: Array<{ field: string; messageKey: string }>,
): Promise<ClientState | undefined> {
  const reply = await redis
    .multi()
    .hgetall(keys.session(clientId))
    .hgetall(keys.subs(clientId))
    .hgetall(keys.deliveries(clientId))
    .hgetall(keys.deliveryState(clientId))
    .smembers(keys.qos2in(clientId))
    .get(keys.will(clientId))
    .exec();
  if (reply === null) throw new Error('Redis transaction aborted');
  for (const [err] of reply) if (err) throw err;
  const [sessionHash, subsHash, deliveriesHash, stateHash, qos2, willText] = reply.map((r) => r[1]) as [
    Record<string, string>,
    Record<string, string>,
    Record<string, string>,
    Record<string, string>,
    string[],
    string | null,
  ];
  if (sessionHash.e === undefined) return undefined;
  const [username, listenerPort] = JSON.parse(sessionHash.o ?? '[null,null]') as [
    string | null,
    number | null,
  ];
  const session: StoredSession = {
    clientId,
    expiryInterval: Number(sessionHash.e),
    disconnectedAt: Number(sessionHash.d ?? 0),
    username: username ?? undefined,
    listenerPort: listenerPort ?? undefined,
  };
  const subscriptions: StoredSubscription[] = [];
  for (const text of Object.values(subsHash)) subscriptions.push({ clientId, ...decodeSubscription(text) });

  const raw: RawDelivery[] = [];
  for (const [field, text] of Object.entries(deliveriesHash))
    raw.push({ field, header: decodeDelivery(text) });
  raw.sort((a, b) => a.header.o - b.header.o);
  const messageKeys = [...new Set(raw.map((r) => r.header.m))];
  const messages = new Map<string, StoredMessage>();
  if (messageKeys.length > 0) {
    const pipeline = redis.pipeline();
    for (const key of messageKeys) pipeline.hgetBuffer(keys.message(key), 'd');
    const got = (await pipeline.exec()) ?? [];
    for (let i = 0; i < messageKeys.length; i++) {
      const [err, data] = got[i] ?? [null, null];
      if (err) throw err;
      if (data === null) continue;
      const key = messageKeys[i]!;
      const m = decodeMessage(names.messageId(key), data as Buffer);
      messages.set(key, m);
    }
  }
  const deliveries: StoredDelivery[] = [];
  const held = new Set<string>();
  for (const { field, header } of raw) {
    names.seenOrder(header.o);
    const message = messages.get(header.m);
    if (message === undefined || (message.expiresAt !== 0 && message.expiresAt <= now)) {
      dropped.push({ field, messageKey: header.m });
      continue;
    }
    const state = decodeDeliveryState(stateHash[field]);
    // One queued copy per cluster-wide message id (and share group): a node taken for dead while alive may have
    // committed a copy that its adopter delivered too (fence.ts). Copies in flight (a packet id) are all kept.
    const id = message.clusterSeq
      ? `${message.clusterEpoch}.${message.clusterSeq}/${header.g ?? ''}`
      : undefined;
    if (id !== undefined) {
      if (held.has(id) && state.packetId === 0) {
        dropped.push({ field, messageKey: header.m });
        continue;
      }
      held.add(id);
    }
    deliveries.push({
      seq: names.deliverySeq(clientId, field),
      clientId,
      message,
      qos: header.q,
      retain: header.r === 1,
      subscriptionIds: header.s === null ? undefined : [...header.s],
      packetId: state.packetId,
      released: state.released,
      shareGroup: header.g ?? undefined,
      shareFilter: header.f ?? undefined,
    });
  }
  const incomingQos2 = qos2.map((id) => ({ clientId, packetId: Number(id) }));
  let will: StoredWill | undefined;
  if (willText !== null) {
    const w = decodeWill(willText);
    will = { clientId, will: w.will, dueAt: w.dueAt, delay: w.delay };
  }
  return { session, subscriptions, deliveries, incomingQos2, will };
}

/** The retained messages, each under a fresh local id. */
export async function readRetained(
  redis: RedisClient,
  keys: RedisKeys,
  nextId: () => number,
  now: number,
): Promise<StoredMessage[]> {
  const all = await redis.hgetallBuffer(keys.retained);
  const out: StoredMessage[] = [];
  for (const data of Object.values(all)) {
    const m = decodeMessage(nextId(), data);
    if (m.expiresAt === 0 || m.expiresAt > now) out.push(m);
  }
  return out;
}

/** The port's record for a delivery read back (for deleteSession). */
export function deliveryRecordOf(d: ClientState['deliveries'][number]): DeliveryRecord {
  return { ...d, group: undefined };
}

/** Several clients' states as the broker's restore takes them. */
export function toRestoredState(
  clients: readonly ClientState[],
  retained: StoredMessage[] = [],
): RestoredState {
  const state: RestoredState = {
    sessions: [],
    subscriptions: [],
    deliveries: [],
    incomingQos2: [],
    retained,
    wills: [],
  };
  for (const c of clients) {
    state.sessions.push(c.session);
    state.subscriptions.push(...c.subscriptions);
    state.deliveries.push(...c.deliveries);
    state.incomingQos2.push(...c.incomingQos2);
    if (c.will !== undefined) state.wills.push(c.will);
  }
  return state;
}

export function checkReplies(replies: Array<[Error | null, unknown]> | null): void {
  if (replies === null) throw new Error('Redis transaction aborted');
  for (const [err] of replies) if (err) throw err;
}
