// Start-up: rebuilds sessions (with their subscriptions in the topic tree, queued and in-flight messages in
// their original order, QoS 2 state) and retained messages from what the persistence store saved.

import type { RestoredState } from '../persistence/store.js';
import type { BrokerCore } from './broker-core.js';
import { ClientIdentity } from './delivery-acl.js';
import { type Delivery, Session } from './session.js';
import type { SubscriptionEntry } from './subscription.js';

export interface RestoreCounts {
  sessions: number;
  subscriptions: number;
  messages: number;
  retained: number;
}

export function restoreState(broker: BrokerCore, state: RestoredState): RestoreCounts {
  const counts: RestoreCounts = { sessions: 0, subscriptions: 0, messages: 0, retained: 0 };
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
    const entry: SubscriptionEntry = {
      session,
      filter: sub.filter,
      matchFilter: sub.matchFilter,
      shareGroup: sub.shareGroup,
      qos: sub.qos,
      noLocal: sub.noLocal,
      retainAsPublished: sub.retainAsPublished,
      retainHandling: sub.retainHandling,
      identifier: sub.identifier,
    };
    session.subscriptions.set(entry.filter, entry);
    broker.tree.add(entry);
    counts.subscriptions++;
  }
  for (const r of state.deliveries) {
    const session = broker.sessions.get(r.clientId);
    if (session === undefined) continue;
    const d: Delivery = {
      message: r.message,
      qos: r.qos,
      retain: r.retain,
      subscriptionIds: r.subscriptionIds,
      packetId: r.packetId,
      released: r.released,
      storeSeq: r.seq,
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
  for (const message of state.retained) {
    broker.retained.set(message);
    counts.retained++;
  }
  return counts;
}
