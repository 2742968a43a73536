// The retained messages of a new subscription, sent in chunks: a `#` subscriber to a million retained messages
// must not hold the event loop for seconds (every other client waits meanwhile), nor put all of them into its
// socket's buffer at once. The first chunk goes at once, the rest one chunk per event-loop turn, pausing while
// the subscriber's socket is congested; the store is walked as the chunks go (RetainedStore.scan).

import type { QoS } from '../protocol/packets.js';
import type { Connection } from './connection.js';
import { mayRead, retainSourceAllowed } from './delivery-acl.js';
import type { Message } from './message.js';
import type { RetainedScan, RetainedStore } from './retained-store.js';
import type { SubscriptionEntry } from './subscription.js';

/** Retained messages sent per event-loop turn to one subscription. */
export const RETAINED_CHUNK = 1000;

interface RetainedJob {
  readonly conn: Connection;
  readonly entry: SubscriptionEntry;
  readonly scan: RetainedScan;
  readonly subIds: number[] | undefined;
  started: boolean;
}

/** Matches taken at once, from a store without `scan`: later turns skip what was replaced meanwhile. */
class MatchedScan implements RetainedScan {
  private at = 0;
  constructor(
    private readonly store: RetainedStore,
    private readonly messages: readonly Message[],
  ) {}

  next(max: number, now: number, out: Message[]): boolean {
    const messages = this.messages;
    const later = this.at > 0;
    const end = Math.min(messages.length, this.at + max);
    for (; this.at < end; this.at++) {
      const m = messages[this.at]!;
      if (later && (m.isExpired(now) || this.store.get(m.topic) !== m)) continue;
      out.push(m);
    }
    return this.at < messages.length;
  }
}

/** Retained messages for a new subscription, sent with RETAIN set [MQTT-3.3.1-9]; never for shared ones. */
export function sendRetained(conn: Connection, entry: SubscriptionEntry, created: boolean): void {
  if (entry.shareGroup !== undefined) return;
  // [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 1 = only for a new subscription, 2 = never.
  if (entry.retainHandling === 2 || (entry.retainHandling === 1 && !created)) return;
  const store = conn.broker.retained;
  const scan =
    store.scan?.(entry.matchFilter) ??
    new MatchedScan(store, store.match(entry.matchFilter, conn.broker.now));
  const subIds = entry.identifier === 0 ? undefined : [entry.identifier];
  const job: RetainedJob = { conn, entry, scan, subIds, started: false };
  running.set(entry, job);
  runChunk(job);
}

/** The delivery running for each subscription: a SUBSCRIBE repeated meanwhile starts over and ends the old one. */
const running = new WeakMap<SubscriptionEntry, RetainedJob>();

/** Reused for every chunk (chunks never overlap: each runs to its end synchronously). */
const chunk: Message[] = [];

function runChunk(job: RetainedJob): void {
  const { conn, entry } = job;
  const session = conn.session;
  // The client went, or dropped / replaced the subscription: the rest is not for it any more.
  if (!conn.online || session === null || session.subscriptions.get(entry.filter) !== entry) return;
  if (running.get(entry) !== job) return;
  if (job.started && conn.congested) {
    conn.stream.once('drain', () => runChunk(job));
    return;
  }
  job.started = true;
  const broker = conn.broker;
  const checkSource = broker.options.checkRetainSource;
  const upgrade = broker.options.upgradeOutgoingQos;
  const more = job.scan.next(RETAINED_CHUNK, broker.now, chunk);
  // Thousands of retained messages are joined into a few large writes rather than one write each.
  if (chunk.length > 1) conn.beginGather();
  try {
    for (const message of chunk) {
      if (!mayRead(session, message.topic)) continue;
      // [CVE-2018-12546] not while its publisher has lost the right to write it (ACL reload, restart).
      if (checkSource && !retainSourceAllowed(message, broker)) continue;
      const qos = (upgrade ? entry.qos : Math.min(entry.qos, message.qos)) as QoS;
      broker.deliver(session, message, qos, true, job.subIds);
    }
  } finally {
    chunk.length = 0;
    conn.endGather();
  }
  if (more) setImmediate(runChunk, job);
  else running.delete(entry);
}
