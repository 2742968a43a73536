// The retained messages of a new subscription, sent in chunks: a `#` subscriber to a million retained messages
// must not hold the event loop for seconds (every other client waits meanwhile), nor put all of them into its
// socket's buffer at once. The first chunk goes at once, the rest one chunk per event-loop turn, pausing while
// the subscriber's socket is congested.

import type { QoS } from '../protocol/packets.js';
import type { Connection } from './connection.js';
import { mayRead, retainSourceAllowed } from './delivery-acl.js';
import type { Message } from './message.js';
import type { SubscriptionEntry } from './subscription.js';

/** Retained messages sent per event-loop turn to one subscription. */
export const RETAINED_CHUNK = 1000;

interface RetainedJob {
  readonly conn: Connection;
  readonly entry: SubscriptionEntry;
  readonly messages: readonly Message[];
  next: number;
  readonly subIds: number[] | undefined;
}

/** Retained messages for a new subscription, sent with RETAIN set [MQTT-3.3.1-9]; never for shared ones. */
export function sendRetained(conn: Connection, entry: SubscriptionEntry, created: boolean): void {
  if (entry.shareGroup !== undefined) return;
  // [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 1 = only for a new subscription, 2 = never.
  if (entry.retainHandling === 2 || (entry.retainHandling === 1 && !created)) return;
  const broker = conn.broker;
  const messages = broker.retained.match(entry.matchFilter, broker.now);
  if (messages.length === 0) return;
  const job: RetainedJob = {
    conn,
    entry,
    messages,
    next: 0,
    subIds: entry.identifier === 0 ? undefined : [entry.identifier],
  };
  runChunk(job);
}

function runChunk(job: RetainedJob): void {
  const { conn, entry, messages } = job;
  const session = conn.session;
  // The client went, or dropped / replaced the subscription: the rest is not for it any more.
  if (!conn.online || session === null || session.subscriptions.get(entry.filter) !== entry) return;
  if (job.next > 0 && conn.congested) {
    conn.stream.once('drain', () => runChunk(job));
    return;
  }
  const broker = conn.broker;
  const checkSource = broker.options.checkRetainSource;
  const upgrade = broker.options.upgradeOutgoingQos;
  const now = broker.now;
  const later = job.next > 0;
  const end = Math.min(messages.length, job.next + RETAINED_CHUNK);
  // Thousands of retained messages are joined into a few large writes rather than one write each.
  if (end - job.next > 1) conn.beginGather();
  try {
    for (let i = job.next; i < end; i++) {
      const message = messages[i]!;
      // In a later turn the topic may have a newer retained message (already sent live), or none, or it expired.
      if (later && (message.isExpired(now) || broker.retained.get(message.topic) !== message)) continue;
      if (!mayRead(session, message.topic)) continue;
      // [CVE-2018-12546] not while its publisher has lost the right to write it (ACL reload, restart).
      if (checkSource && !retainSourceAllowed(message, broker)) continue;
      const qos = (upgrade ? entry.qos : Math.min(entry.qos, message.qos)) as QoS;
      broker.deliver(session, message, qos, true, job.subIds);
    }
  } finally {
    conn.endGather();
  }
  job.next = end;
  if (end < messages.length) setImmediate(runChunk, job);
}
