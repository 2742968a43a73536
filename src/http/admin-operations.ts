// /api/culex/v1/bridges (state and counters, start / stop) and /api/culex/v1/listeners (what is open, with
// its connections now).

import type { BridgeStats } from '../bridge/bridge-host.js';
import { type AdminAnswer, type AdminContext, type AdminRequest, logChange } from './admin-api.js';

function bridgeView(name: string, s: BridgeStats): Record<string, unknown> {
  return {
    name,
    state: s.state,
    address: s.address === '' ? null : s.address,
    connects: s.connects,
    messages_in: s.messagesIn,
    messages_out: s.messagesOut,
    bytes_in: s.bytesIn,
    bytes_out: s.bytesOut,
    unmapped: s.unmapped,
    queued: s.queued,
    dropped: s.dropped,
  };
}

export function listBridges(context: AdminContext): AdminAnswer {
  const bridges = (context.bridges()?.list() ?? []).map((b) => bridgeView(b.name, b.stats));
  return { status: 200, body: { total: bridges.length, bridges } };
}

export function showBridge(context: AdminContext, name: string): AdminAnswer {
  const found = context
    .bridges()
    ?.list()
    .find((b) => b.name === name);
  return found === undefined
    ? { status: 404, body: { error: `no bridge ${name}` } }
    : { status: 200, body: bridgeView(found.name, found.stats) };
}

/** Stops a bridge (kept, down until started) or starts a stopped one; logged either way. */
export function switchBridge(
  context: AdminContext,
  name: string,
  request: AdminRequest,
  to: 'start' | 'stop',
): AdminAnswer {
  const bridges = context.bridges();
  if (bridges === undefined || !bridges.list().some((b) => b.name === name))
    return { status: 404, body: { error: `no bridge ${name}` } };
  logChange(context.core, request, `${to === 'start' ? 'started' : 'stopped'} bridge ${name}`);
  if (to === 'start') bridges.start(name);
  else bridges.stop(name);
  return showBridge(context, name);
}

export function listListeners(context: AdminContext): AdminAnswer {
  const byPort = new Map<number, number>();
  for (const conn of context.core.connections)
    byPort.set(conn.context.port, (byPort.get(conn.context.port) ?? 0) + 1);
  const listeners = context.listenerOptions().map((l) => ({
    port: l.port,
    address: l.host ?? null,
    path: l.unixSocketPath ?? null,
    protocol: l.protocol,
    tls: l.tls?.certfile !== undefined && l.tls.keyfile !== undefined,
    require_certificate: l.tls?.requireCertificate ?? false,
    mount_point: l.mountPoint ?? null,
    max_connections: l.maxConnections,
    // Unix sockets and HTTP listeners count no MQTT connections here.
    connections:
      l.protocol === 'http_api' || l.unixSocketPath !== undefined ? null : (byPort.get(l.port) ?? 0),
  }));
  return { status: 200, body: { total: listeners.length, listeners } };
}
