// /metrics: the broker's state and counters in the Prometheus text format (names documented in docs/metrics.md).
// Everything is read at scrape time from counters the core keeps anyway; nothing runs per message.

import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { BrokerCore } from '../broker/broker-core.js';
import type { ByteTotals } from '../broker/byte-totals.js';
import type { QosCounts } from '../broker/publish-traffic.js';
import { sharedSubscriptions } from '../broker/sys-topics.js';
import type { MetricFamily } from '../ports/metrics.js';
import { sessionCounts } from './api-v1.js';
import { type Labels, PrometheusText } from './prometheus-text.js';

const LAG_QUANTILES = [0.5, 0.9, 0.99] as const;
/** Sampling timer of the event-loop monitor, in ms; each sample is its period plus the delay, so it is taken off. */
const LAG_RESOLUTION_MS = 10;
const LAG_RESOLUTION_NS = LAG_RESOLUTION_MS * 1e6;

function lagSeconds(ns: number): number {
  return Math.max(0, ns - LAG_RESOLUTION_NS) / 1e9;
}

/** Event-loop delay: quantiles over the time since the previous scrape, sum and count since start. */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  private sumSeconds = 0;
  private count = 0;

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  /** Quantiles in seconds, and resets the window. */
  take(): { quantiles: [number, number][]; max: number; sum: number; count: number } {
    const h = this.histogram;
    const quantiles = LAG_QUANTILES.map((q): [number, number] => [
      q,
      h.count === 0 ? 0 : lagSeconds(h.percentile(q * 100)),
    ]);
    const max = h.count === 0 ? 0 : lagSeconds(h.max);
    if (h.count > 0) {
      this.sumSeconds += lagSeconds(h.mean) * h.count;
      this.count += h.count;
    }
    h.reset();
    return { quantiles, max, sum: this.sumSeconds, count: this.count };
  }
}

export interface MetricsInput {
  readonly core: BrokerCore;
  readonly bytes: ByteTotals;
  readonly lag: EventLoopLag;
  readonly version: string;
  readonly uptimeSeconds: number;
  /** Requests to this HTTP listener refused for credentials or ACL. */
  readonly httpAuthFailures: number;
  /** Families of other sources (commit latency, bridges, a cluster), written after the core's. */
  readonly more: readonly MetricFamily[];
}

interface QueueFigures {
  queued: number;
  queuedBytes: number;
  inflight: number;
  inflightBytes: number;
}

function queueFigures(core: BrokerCore): QueueFigures {
  const f: QueueFigures = { queued: 0, queuedBytes: 0, inflight: 0, inflightBytes: 0 };
  for (const session of core.sessions.values()) {
    f.queued += session.queuedCount;
    f.queuedBytes += session.queuedBytes;
    f.inflight += session.inflightCount;
    f.inflightBytes += session.inflightBytes;
  }
  return f;
}

function connectionsByPort(core: BrokerCore): [Labels, number][] {
  const byPort = new Map<number, number>();
  for (const conn of core.connections)
    byPort.set(conn.context.port, (byPort.get(conn.context.port) ?? 0) + 1);
  return [...byPort].sort((a, b) => a[0] - b[0]).map(([port, n]) => [{ port: String(port) }, n]);
}

export function renderMetrics(input: MetricsInput): string {
  const { core, bytes } = input;
  bytes.sample();
  const stats = core.stats;
  const sessions = sessionCounts(core);
  const shared = sharedSubscriptions(core);
  const queues = queueFigures(core);
  const lag = input.lag.take();
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const t = new PrometheusText();
  t.family('culex_build_info', 'gauge', 'Culex version (always 1).', [[{ version: input.version }, 1]]);
  t.family(
    'culex_uptime_seconds',
    'gauge',
    'Seconds since the HTTP API listener opened with the broker.',
    input.uptimeSeconds,
  );
  t.family(
    'culex_connections',
    'gauge',
    'Open client network connections, before CONNECT included.',
    core.connections.size,
  );
  t.family(
    'culex_listener_connections',
    'gauge',
    'Open client connections per listener port.',
    connectionsByPort(core),
  );
  t.family('culex_clients_connected', 'gauge', 'Clients connected (past CONNECT).', sessions.connected);
  t.family(
    'culex_sessions',
    'gauge',
    'Sessions by state: online (client connected) or offline (persistent).',
    [
      [{ state: 'online' }, sessions.connected],
      [{ state: 'offline' }, sessions.total - sessions.connected],
    ],
  );
  t.family(
    'culex_sessions_expired_total',
    'counter',
    'Offline sessions removed at their expiry.',
    stats.sessionsExpired,
  );
  t.family('culex_subscriptions', 'gauge', 'Subscriptions by kind: plain or shared ($share).', [
    [{ kind: 'plain' }, core.tree.size - shared],
    [{ kind: 'shared' }, shared],
  ]);
  t.family('culex_retained_messages', 'gauge', 'Retained messages held.', core.retained.size);
  t.family('culex_queued_messages', 'gauge', 'Messages queued for sessions, not yet sent.', queues.queued);
  t.family('culex_queued_bytes', 'gauge', 'Bytes of the messages queued for sessions.', queues.queuedBytes);
  t.family(
    'culex_inflight_messages',
    'gauge',
    'QoS 1 and 2 messages sent and not yet acknowledged.',
    queues.inflight,
  );
  t.family('culex_inflight_bytes', 'gauge', 'Bytes of the in-flight messages.', queues.inflightBytes);
  t.family(
    'culex_messages_received_total',
    'counter',
    'PUBLISH packets received from clients.',
    stats.messagesReceived,
  );
  t.family('culex_messages_sent_total', 'counter', 'PUBLISH packets sent to clients.', stats.messagesSent);
  const qos = (counts: QosCounts): [Labels, number][] =>
    counts.map((n, q): [Labels, number] => [{ qos: String(q) }, n]);
  t.family(
    'culex_publish_received_total',
    'counter',
    'PUBLISH packets received, by QoS.',
    qos(stats.publishReceived),
  );
  t.family('culex_publish_sent_total', 'counter', 'PUBLISH packets written, by QoS.', qos(stats.publishSent));
  t.family(
    'culex_publish_received_bytes_total',
    'counter',
    'Payload bytes of PUBLISH packets received, by QoS.',
    qos(stats.publishReceivedBytes),
  );
  t.family(
    'culex_publish_sent_bytes_total',
    'counter',
    'Payload bytes of PUBLISH packets written, by QoS.',
    qos(stats.publishSentBytes),
  );
  t.family(
    'culex_network_received_bytes_total',
    'counter',
    'Bytes read from client connections.',
    bytes.received,
  );
  t.family('culex_network_sent_bytes_total', 'counter', 'Bytes written to client connections.', bytes.sent);
  t.family('culex_messages_dropped_total', 'counter', 'Deliveries dropped, by reason.', [
    [{ reason: 'queue_full' }, stats.droppedQueueFull],
    [{ reason: 'slow_consumer' }, stats.droppedSlowConsumer],
    [{ reason: 'too_large' }, stats.droppedTooLarge],
    [{ reason: 'expired' }, stats.droppedExpired],
    [{ reason: 'acl' }, stats.droppedAcl],
  ]);
  t.family(
    'culex_memory_limit_refused_total',
    'counter',
    'Over memory_limit: PUBLISHes dropped with their client disconnected, and connections closed at once.',
    [
      [{ what: 'message' }, stats.memoryRefusedMessages],
      [{ what: 'connection' }, stats.memoryRefusedConnections],
    ],
  );
  t.family(
    'culex_auth_failures_total',
    'counter',
    'Refused logins, by where: MQTT CONNECT or this HTTP API.',
    [
      [{ source: 'mqtt' }, stats.loginsRefused],
      [{ source: 'http' }, input.httpAuthFailures],
    ],
  );
  t.family(
    'nodejs_eventloop_lag_seconds',
    'summary',
    'Event-loop delay; quantiles since the previous scrape.',
    [...lag.quantiles.map(([q, v]): [Labels, number] => [{ quantile: String(q) }, v])],
  );
  t.sample('nodejs_eventloop_lag_seconds_sum', {}, lag.sum).sample(
    'nodejs_eventloop_lag_seconds_count',
    {},
    lag.count,
  );
  t.family(
    'nodejs_eventloop_lag_max_seconds',
    'gauge',
    'Longest event-loop delay since the previous scrape.',
    lag.max,
  );
  t.family('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use.', memory.heapUsed);
  t.family('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap allocated.', memory.heapTotal);
  t.family(
    'nodejs_external_memory_bytes',
    'gauge',
    'Memory of Buffers and other objects outside the V8 heap.',
    memory.external,
  );
  t.family('process_resident_memory_bytes', 'gauge', 'Resident set size.', memory.rss);
  t.family(
    'process_cpu_seconds_total',
    'counter',
    'User and system CPU time.',
    (cpu.user + cpu.system) / 1e6,
  );
  t.family(
    'process_start_time_seconds',
    'gauge',
    'Start of the process, Unix time.',
    Math.round(Date.now() / 1000 - process.uptime()),
  );
  t.families(input.more);
  return t.toString();
}
