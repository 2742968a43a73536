// SUBSCRIBE: per-filter validation and authorization, SUBACK, then the retained messages the filters match.

import type { QoS, SubscribePacket, Subscription } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { parseSharedFilter, validateTopicFilter } from '../../protocol/topic.js';
import type { Connection } from '../connection.js';
import { subscribeChannel, traceSubscription } from '../diagnostics.js';
import { sendRetained } from '../retained-delivery.js';
import { type SubscriptionEntry, SubscriptionRecord } from '../subscription.js';

export function handleSubscribe(conn: Connection, packet: SubscribePacket): void {
  const v5 = conn.protocolVersion === 5;
  const identifier = packet.properties?.subscriptionIdentifiers?.[0] ?? 0;
  const reasonCodes: number[] = [];
  const added: SubscriptionEntry[] = [];
  const isNew: boolean[] = [];
  for (const sub of packet.subscriptions) {
    // Mosquitto: a 3.1 / 3.1.1 bridge (try_private) gets No Local and Retain As Published on every filter, so
    // its own messages never come back to it and retained ones stay retained on the far side.
    if (conn.isBridge && !v5) {
      sub.noLocal = true;
      sub.retainAsPublished = true;
    }
    const result = subscribeOne(conn, sub, identifier);
    if (typeof result === 'number') {
      reasonCodes.push(v5 ? result : 0x80);
      continue;
    }
    reasonCodes.push(result.entry.qos);
    added.push(result.entry);
    isNew.push(result.created);
  }
  // [MQTT-3.8.4-1] SUBACK with the same packet identifier, one code per filter in order [MQTT-3.8.4-6].
  conn.send({ type: 9, packetId: packet.packetId, reasonCodes });
  for (let i = 0; i < added.length; i++) {
    const entry = added[i]!;
    conn.broker.emit('subscribe', conn, entry.filter, entry.qos);
    if (subscribeChannel.hasSubscribers) traceSubscription(subscribeChannel, conn, entry.filter, entry.qos);
    sendRetained(conn, entry, isNew[i]!);
  }
}

function subscribeOne(
  conn: Connection,
  sub: Subscription,
  identifier: number,
): number | { entry: SubscriptionEntry; created: boolean } {
  const broker = conn.broker;
  const session = conn.session!;
  const logger = broker.logger;
  // Mosquitto's packet trace: one line per filter, with the QoS asked for, before any check.
  if (logger.enabled('debug')) logger.log('debug', `\t${sub.topicFilter} (QoS ${sub.qos})`);
  if (validateTopicFilter(sub.topicFilter) !== null) return ReasonCode.TopicFilterInvalid;
  const shared = parseSharedFilter(sub.topicFilter);
  // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error; refuse that filter.
  if (shared !== null && sub.noLocal) return ReasonCode.ProtocolError;
  const filter = conn.context.mountPoint + (shared === null ? sub.topicFilter : shared.filter);
  const authorize = conn.context.hooks.authorize;
  // Mosquitto 2.0 asks about the filter as written, `$share/group/` included (checked against 2.0.11's dynsec).
  const asked = shared === null ? filter : conn.context.mountPoint + sub.topicFilter;
  if (authorize !== undefined && !authorize(conn, 'subscribe', asked)) return ReasonCode.NotAuthorized;

  const qos = Math.min(sub.qos, conn.context.maxQos) as QoS;
  if (logger.enabled('subscribe')) logger.log('subscribe', `${conn.clientId} ${qos} ${sub.topicFilter}`);
  const existing = session.subscriptions.get(sub.topicFilter);
  if (existing !== undefined) {
    // [MQTT-3.8.4-3] a subscription to the same filter replaces the old one; retained messages are sent again.
    existing.qos = qos;
    existing.noLocal = sub.noLocal;
    existing.retainAsPublished = sub.retainAsPublished;
    existing.retainHandling = sub.retainHandling;
    existing.identifier = identifier;
    broker.subscriptionChanged(existing);
    return { entry: existing, created: false };
  }
  const limit = broker.options.maxSubscriptionsPerClient;
  if (limit > 0 && session.subscriptions.size >= limit) return ReasonCode.QuotaExceeded;
  const entry = new SubscriptionRecord(
    session,
    sub.topicFilter,
    filter,
    shared === null ? undefined : shared.group,
    qos,
    sub.noLocal,
    sub.retainAsPublished,
    sub.retainHandling,
    identifier,
  );
  broker.addSubscription(entry);
  return { entry, created: true };
}
