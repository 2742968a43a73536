// Start-up: rebuilds sessions (with their subscriptions in the topic tree, queued and in-flight messages in
// their original order, QoS 2 state) and retained messages from what the persistence store saved.

import type { BrokerCore } from './broker-core.js';
import { ClientIdentity } from './delivery-acl.js';
import { Message } from './message.js';
import type { RestoredState, StoredMessage } from './persistence-port.js';
import { type Delivery, Session } from './session.js';
import { SubscriptionRecord } from './subscription.js';

export interface RestoreCounts {
  sessions: number;
  subscriptions: number;
  messages: number;
  retained: number;
}

/** The broker's message for a stored one: one object per stored id, shared by all that refer to it. */
function messageOf(stored: StoredMessage, messages: Map<number, Message>): Message {
  let m = messages.get(stored.id);
  if (m !== undefined) return m;
  m = new Message(
    stored.topic,
    stored.payload,
    stored.qos,
    stored.retain,
    stored.properties,
    stored.origin,
    stored.expiresAt,
  );
  m.id = stored.id;
  m.clusterEpoch = stored.clusterEpoch ?? 0;
  m.clusterSeq = stored.clusterSeq ?? 0;
  const source = stored.source;
  // The publisher's listener hooks are found by port when the source is checked (check_retain_source).
  if (source !== undefined) {
    m.source = {
      clientId: stored.origin,
      username: source.username,
      protocolVersion: 4,
      remoteAddress: '',
      listenerPort: source.listenerPort,
      hooks: undefined,
    };
  }
  messages.set(stored.id, m);
  return m;
}

export function restoreState(broker: BrokerCore, state: RestoredState): RestoreCounts {
  const counts: RestoreCounts = { sessions: 0, subscriptions: 0, messages: 0, retained: 0 };
  const messages = new Map<number, Message>();
  for (const s of state.sessions) {
    const session = new Session(s.clientId);
    session.expiryInterval = s.expiryInterval;
    session.disconnectedAt = s.disconnectedAt;
    session.persisted = true;
    // Its owner, for the checks made before the client is back; the listener's hooks are found by port.
    if (s.listenerPort !== undefined)
      session.owner = new ClientIdentity(s.clientId, s.username, 4, '', s.listenerPort, undefined);
    broker.sessions.set(s.clientId, session);
    counts.sessions++;
  }
  for (const sub of state.subscriptions) {
    const session = broker.sessions.get(sub.clientId);
    if (session === undefined) continue;
    const entry = new SubscriptionRecord(
      session,
      sub.filter,
      sub.matchFilter,
      sub.shareGroup,
      sub.qos,
      sub.noLocal,
      sub.retainAsPublished,
      sub.retainHandling,
      sub.identifier,
    );
    session.subscriptions.set(entry.filter, entry);
    broker.router.add(entry);
    counts.subscriptions++;
  }
  for (const r of state.deliveries) {
    const session = broker.sessions.get(r.clientId);
    if (session === undefined) continue;
    const d: Delivery = {
      message: messageOf(r.message, messages),
      qos: r.qos,
      retain: r.retain,
      subscriptionIds: r.subscriptionIds,
      packetId: r.packetId,
      released: r.released,
      seq: r.seq,
    };
    // Linked again to its share group, so that it can still move to another member [MQTT 5 4.8.2].
    if (r.shareGroup !== undefined && r.shareFilter !== undefined) {
      const group = broker.tree.shareGroup(r.shareGroup, r.shareFilter);
      if (group !== undefined) d.group = group;
    }
    // Messages that were in flight are resent with DUP=1 and the same identifier at reconnection [MQTT-4.4.0-1].
    if (d.packetId !== 0 && !session.inflight.has(d.packetId)) {
      session.inflight.set(d.packetId, d);
      session.inflightBytes += d.message.size;
    } else {
      d.packetId = 0;
      session.enqueue(d);
    }
    counts.messages++;
  }
  for (const q of state.incomingQos2) broker.sessions.get(q.clientId)?.incomingQos2.add(q.packetId);
  for (const stored of state.retained) {
    broker.retained.set(messageOf(stored, messages));
    counts.retained++;
  }
  // Ids of deliveries whose session is gone still count: new ones must not collide with rows being deleted.
  let maxMessageId = 0;
  for (const r of state.deliveries) if (r.message.id > maxMessageId) maxMessageId = r.message.id;
  for (const r of state.retained) if (r.id > maxMessageId) maxMessageId = r.id;
  let maxSeq = 0;
  for (const r of state.deliveries) if (r.seq > maxSeq) maxSeq = r.seq;
  broker.journal.reserve(maxMessageId, maxSeq);
  return counts;
}
