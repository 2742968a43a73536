// The $SYS/broker/... status topics Mosquitto publishes every sys_interval seconds, computed from the broker's
// own counters and state at each interval (nothing here runs on the per-message path).

import type { BrokerCore } from './broker-core.js';
import { ByteTotals } from './byte-totals.js';
import { LOAD_WINDOWS, LoadAverage } from './load-average.js';
import { Message } from './message.js';
import { sum } from './publish-traffic.js';

export interface SysTopicsOptions {
  /** Seconds between updates (`sys_interval`); 0 disables $SYS entirely. */
  interval: number;
  /** Version shown in $SYS/broker/version as "culex version <version>". */
  version: string;
  /** Sockets accepted so far, for $SYS/broker/load/sockets/+ (left out when absent). */
  socketsAccepted?: () => number;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
}

/** Mosquitto gives the periodic $SYS messages a 60 s Message Expiry Interval (the version none). */
const SYS_EXPIRY_MS = 60_000;

/** A counter whose rate is published under $SYS/broker/load/<name>/{1min,5min,15min}. */
interface LoadFeed {
  readonly name: string;
  readonly count: () => number;
  readonly average: LoadAverage;
}

export class SysTopics {
  private readonly broker: BrokerCore;
  private readonly options: SysTopicsOptions;
  private readonly now: () => number;
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  /** Last payload published per topic: a topic goes out again only when its value changed, as in Mosquitto. */
  private readonly published = new Map<string, string>();
  private lastUpdate = 0;
  private clientsMaximum = 0;
  private heapMaximum = 0;
  private connects = 0;
  private readonly bytes: ByteTotals;
  private readonly loads: LoadFeed[];
  private readonly onConnected = (): void => {
    this.connects++;
  };

  constructor(broker: BrokerCore, options: SysTopicsOptions) {
    this.broker = broker;
    this.options = options;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    const stats = broker.stats;
    this.bytes = new ByteTotals(broker);
    const feeds: [string, () => number][] = [
      // Culex counts PUBLISH packets only, so messages/* and publish/* carry the same figures.
      ['messages/received', () => stats.messagesReceived],
      ['messages/sent', () => stats.messagesSent],
      ['publish/dropped', () => stats.dropped],
      ['publish/received', () => stats.messagesReceived],
      ['publish/sent', () => stats.messagesSent],
      ['bytes/received', () => this.bytes.received],
      ['bytes/sent', () => this.bytes.sent],
    ];
    const sockets = options.socketsAccepted;
    if (sockets !== undefined) feeds.push(['sockets', sockets]);
    feeds.push(['connections', () => this.connects]);
    this.loads = feeds.map(([name, count]) => ({ name, count, average: new LoadAverage(count()) }));
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Publishes the version and a first round now, then a round every interval. No-op when interval is 0. */
  start(): void {
    if (this.timer !== undefined || this.options.interval <= 0) return;
    this.broker.on('clientConnected', this.onConnected);
    this.bytes.start();
    this.publish('$SYS/broker/version', `culex version ${this.options.version}`, 0);
    this.update();
    this.timer = setInterval(tick, this.options.interval * 1000, this);
    // $SYS must never keep the process alive on its own.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.broker.off('clientConnected', this.onConnected);
    this.bytes.stop();
  }

  /** One round: every figure is read and published if it changed since the last round. */
  update(): void {
    const now = this.now();
    const expiresAt = now + SYS_EXPIRY_MS;
    const first = this.lastUpdate === 0;
    const elapsed = first ? 0 : (now - this.lastUpdate) / 1000;
    this.lastUpdate = now;
    const broker = this.broker;
    // One snapshot, so that the round's own deliveries do not make related figures disagree.
    const { messagesReceived, messagesSent, dropped } = broker.stats;

    this.publish('$SYS/broker/uptime', `${Math.floor((now - this.startedAt) / 1000)} seconds`, expiresAt);
    this.updateClients(expiresAt);
    this.bytes.sample();
    this.updateLoads(first, elapsed, expiresAt);

    const store = storedMessages(broker);
    this.publish('$SYS/broker/messages/stored', String(store.count), expiresAt);
    this.publish('$SYS/broker/store/messages/count', String(store.count), expiresAt);
    this.publish('$SYS/broker/store/messages/bytes', String(store.bytes), expiresAt);
    // Mosquitto counts shared subscriptions apart: subscriptions/count is the others only (checked on 2.0.11).
    const shared = sharedSubscriptions(broker);
    this.publish('$SYS/broker/subscriptions/count', String(broker.tree.size - shared), expiresAt);
    this.publish('$SYS/broker/shared_subscriptions/count', String(shared), expiresAt);
    this.publish('$SYS/broker/retained messages/count', String(broker.retained.size), expiresAt);

    const heap = process.memoryUsage().heapUsed;
    this.heapMaximum = Math.max(this.heapMaximum, heap);
    this.publish('$SYS/broker/heap/current', String(heap), expiresAt);
    this.publish('$SYS/broker/heap/maximum', String(this.heapMaximum), expiresAt);

    this.publish('$SYS/broker/messages/received', String(messagesReceived), expiresAt);
    this.publish('$SYS/broker/messages/sent', String(messagesSent), expiresAt);
    this.publish('$SYS/broker/publish/messages/dropped', String(dropped), expiresAt);
    this.publish('$SYS/broker/publish/messages/received', String(messagesReceived), expiresAt);
    this.publish('$SYS/broker/publish/messages/sent', String(messagesSent), expiresAt);
    this.publish('$SYS/broker/bytes/received', String(this.bytes.received), expiresAt);
    this.publish('$SYS/broker/bytes/sent', String(this.bytes.sent), expiresAt);
    this.publish(
      '$SYS/broker/publish/bytes/received',
      String(sum(broker.stats.publishReceivedBytes)),
      expiresAt,
    );
    this.publish('$SYS/broker/publish/bytes/sent', String(sum(broker.stats.publishSentBytes)), expiresAt);
  }

  private updateClients(expiresAt: number): void {
    const total = this.broker.sessions.size;
    let connected = 0;
    for (const session of this.broker.sessions.values()) if (session.connection !== null) connected++;
    const disconnected = total - connected;
    // Mosquitto's maximum follows the total (connected plus persistent sessions), not just the connected.
    this.clientsMaximum = Math.max(this.clientsMaximum, total);
    this.publish('$SYS/broker/clients/total', String(total), expiresAt);
    this.publish('$SYS/broker/clients/maximum', String(this.clientsMaximum), expiresAt);
    // 'inactive' and 'active' are the deprecated names Mosquitto still publishes alongside.
    this.publish('$SYS/broker/clients/inactive', String(disconnected), expiresAt);
    this.publish('$SYS/broker/clients/disconnected', String(disconnected), expiresAt);
    this.publish('$SYS/broker/clients/active', String(connected), expiresAt);
    this.publish('$SYS/broker/clients/connected', String(connected), expiresAt);
    this.publish('$SYS/broker/clients/expired', String(this.broker.stats.sessionsExpired), expiresAt);
  }

  /**
   * The first round publishes every average (all 0.00); later ones only those that moved by at least 0.01,
   * the same rule as Mosquitto, so a quiet broker stops repeating them.
   */
  private updateLoads(first: boolean, elapsed: number, expiresAt: number): void {
    for (const feed of this.loads) {
      const before = feed.average.values.slice();
      feed.average.sample(feed.count(), elapsed);
      for (let i = 0; i < LOAD_WINDOWS.length; i++) {
        const value = feed.average.values[i]!;
        if (!first && Math.abs(value - before[i]!) < 0.01) continue;
        const topic = `$SYS/broker/load/${feed.name}/${LOAD_WINDOWS[i]!.suffix}`;
        this.publish(topic, value.toFixed(2), expiresAt, true);
      }
    }
  }

  /**
   * Publishes as the broker itself (origin ''), retained, QoS 0. As origin 'sys' it neither counts as a received
   * message nor reaches the persistence store (Mosquitto does not persist $SYS either), but it still reaches
   * subscribers, the retained store and 'message' listeners (bridges).
   * `force` publishes even an unchanged value (load averages decide for themselves).
   */
  private publish(topic: string, value: string, expiresAt: number, force = false): void {
    if (!force && this.published.get(topic) === value) return;
    this.published.set(topic, value);
    const message = new Message(topic, Buffer.from(value), 0, true, undefined, '', expiresAt);
    this.broker.publish(message, null, 'sys');
  }
}

function tick(sys: SysTopics): void {
  sys.update();
}

/**
 * Messages held and their payload bytes: retained ones plus those queued or in flight for sessions
 * (Mosquitto's message store, $SYS/broker/store/messages/{count,bytes}).
 */
export function storedMessages(broker: BrokerCore): { count: number; bytes: number } {
  let count = broker.retained.size;
  let bytes = 0;
  // Through match(), the one walk every retained store has; '#' leaves out $-topics [MQTT-4.7.2-1], hence $SYS.
  // At time 0 nothing counts as expired, so the walk removes nothing: counting must not change the store.
  for (const filter of ['#', '$SYS/#']) {
    for (const message of broker.retained.match(filter, 0)) bytes += message.payload.length;
  }
  for (const session of broker.sessions.values()) {
    count += session.queuedCount + session.inflightCount;
    // Both count payload bytes (Message.size), as Mosquitto's store bytes do.
    bytes += session.queuedBytes + session.inflightBytes;
  }
  return { count, bytes };
}

/** Shared subscriptions of all sessions, one per client and $share/group/filter ($SYS/.../shared_subscriptions/count). */
export function sharedSubscriptions(broker: BrokerCore): number {
  let count = 0;
  for (const session of broker.sessions.values()) {
    for (const entry of session.subscriptions.values()) if (entry.shareGroup !== undefined) count++;
  }
  return count;
}
