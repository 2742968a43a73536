// Mosquitto 2.1's http_api JSON endpoints, with its shapes: /api/v1/systree (the $SYS figures as numbers keyed
// by topic), /api/v1/listeners, /api/v1/version (the bare version string).

import type { BrokerCore } from '../broker/broker-core.js';
import type { ByteTotals } from '../broker/byte-totals.js';
import { sum } from '../broker/publish-traffic.js';
import { sharedSubscriptions, storedMessages } from '../broker/sys-topics.js';
import type { ListenerOptions } from '../transport/listener-options.js';

/** Maxima Mosquitto tracks as it goes; here they follow what each request sees. */
export interface SystreeMarks {
  clientsMaximum: number;
  heapMaximum: number;
}

export interface SystreeInput {
  readonly core: BrokerCore;
  readonly bytes: ByteTotals;
  readonly marks: SystreeMarks;
  readonly uptimeSeconds: number;
}

export function sessionCounts(core: BrokerCore): { total: number; connected: number } {
  let connected = 0;
  for (const session of core.sessions.values()) if (session.connection !== null) connected++;
  return { total: core.sessions.size, connected };
}

/** Bytes of packets written to sockets but not yet taken by the kernel (Mosquitto 2.1's packet/out/bytes). */
function pendingOutBytes(core: BrokerCore): number {
  let bytes = 0;
  for (const conn of core.connections) {
    const pending = (conn.stream as { writableLength?: unknown }).writableLength;
    if (typeof pending === 'number') bytes += pending;
  }
  return bytes;
}

/** Keys in the order Mosquitto 2.1 lists them; packet/out/count has no Culex equivalent and is left out. */
export function systree(input: SystreeInput): Record<string, number> {
  const { core, bytes, marks } = input;
  bytes.sample();
  const clients = sessionCounts(core);
  marks.clientsMaximum = Math.max(marks.clientsMaximum, clients.total);
  const heap = process.memoryUsage().heapUsed;
  marks.heapMaximum = Math.max(marks.heapMaximum, heap);
  const store = storedMessages(core);
  const shared = sharedSubscriptions(core);
  const stats = core.stats;
  const p = '$SYS/broker/';
  return {
    [`${p}clients/total`]: clients.total,
    [`${p}clients/maximum`]: marks.clientsMaximum,
    [`${p}clients/disconnected`]: clients.total - clients.connected,
    [`${p}clients/connected`]: clients.connected,
    [`${p}clients/expired`]: stats.sessionsExpired,
    [`${p}messages/stored`]: store.count,
    [`${p}store/messages/bytes`]: store.bytes,
    [`${p}subscriptions/count`]: core.tree.size - shared,
    [`${p}shared_subscriptions/count`]: shared,
    [`${p}retained messages/count`]: core.retained.size,
    [`${p}heap/current`]: heap,
    [`${p}heap/maximum`]: marks.heapMaximum,
    // Culex counts PUBLISH packets only, so messages/* and publish/messages/* carry the same figures.
    [`${p}messages/received`]: stats.messagesReceived,
    [`${p}messages/sent`]: stats.messagesSent,
    [`${p}bytes/received`]: bytes.received,
    [`${p}bytes/sent`]: bytes.sent,
    [`${p}publish/bytes/received`]: sum(stats.publishReceivedBytes),
    [`${p}publish/bytes/sent`]: sum(stats.publishSentBytes),
    [`${p}packet/out/bytes`]: pendingOutBytes(core),
    [`${p}connections/socket/count`]: core.connections.size,
    [`${p}publish/messages/dropped`]: stats.dropped,
    [`${p}publish/messages/received`]: stats.messagesReceived,
    [`${p}publish/messages/sent`]: stats.messagesSent,
    [`${p}uptime`]: input.uptimeSeconds,
  };
}

export interface ListenerJson {
  port?: number;
  path?: string;
  protocol: 'mqtt' | 'websockets' | 'httpapi';
  tls: boolean;
  mtls: boolean;
  allow_anonymous: boolean;
}

export function listenersJson(
  listeners: readonly ListenerOptions[],
  globalAllowAnonymous: boolean,
): { listeners: ListenerJson[] } {
  return {
    listeners: listeners.map((l) => ({
      ...(l.unixSocketPath !== undefined ? { path: l.unixSocketPath } : { port: l.port }),
      // Mosquitto 2.1 spells its own protocol without the underscore here.
      protocol: l.protocol === 'http_api' ? 'httpapi' : l.protocol,
      tls: l.tls?.certfile !== undefined && l.tls.keyfile !== undefined,
      mtls: l.tls?.requireCertificate ?? false,
      allow_anonymous: (l.security ?? { allowAnonymous: globalAllowAnonymous }).allowAnonymous,
    })),
  };
}
