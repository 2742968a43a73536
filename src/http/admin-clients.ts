// /api/culex/v1/clients: every session with its client if connected (search by id, user or address), one
// client's details, and the kick (DELETE), as Mosquitto's kick does it.

import type { BrokerCore } from '../broker/broker-core.js';
import type { Session } from '../broker/session.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { type AdminAnswer, type AdminRequest, logChange, PageCollector } from './admin-api.js';

export function summary(session: Session): Record<string, unknown> {
  const conn = session.connection;
  return {
    client_id: session.clientId,
    connected: conn !== null,
    username: conn?.username ?? session.owner?.username ?? null,
    address: conn?.remoteAddress ?? null,
    protocol_version: conn?.protocolVersion ?? null,
    subscriptions: session.subscriptionCount,
    queued: session.queuedCount,
    inflight: session.inflightCount,
  };
}

export function subscriptionsList(session: Session): Record<string, unknown>[] {
  if (session.subscriptionCount === 0) return [];
  return [...session.subscriptions.values()].map((s) => ({
    filter: s.filter,
    qos: s.qos,
    no_local: s.noLocal,
    retain_as_published: s.retainAsPublished,
    retain_handling: s.retainHandling,
  }));
}

function details(session: Session): Record<string, unknown> {
  const conn = session.connection;
  return {
    ...summary(session),
    keepalive: conn?.keepAlive ?? null,
    listener_port: conn?.context.port ?? null,
    connected_at: conn === null ? null : new Date(conn.connectedAt).toISOString(),
    session_expiry_interval: session.expiryInterval,
    queued_bytes: session.queuedBytes,
    inflight_bytes: session.inflightBytes,
    dropped: session.dropped,
    subscriptions_list: subscriptionsList(session),
  };
}

/** A session matches `search` when its client id, username or address contains it. */
export function matches(session: Session, search: string): boolean {
  if (search === '') return true;
  const conn = session.connection;
  return (
    session.clientId.includes(search) ||
    (conn?.username ?? session.owner?.username ?? '').includes(search) ||
    (conn?.remoteAddress ?? '').includes(search)
  );
}

export function listClients(core: BrokerCore, query: URLSearchParams): AdminAnswer {
  const page = new PageCollector<Record<string, unknown>>(query);
  const search = query.get('search') ?? '';
  for (const session of core.sessions.values()) {
    if (matches(session, search) && page.wants()) page.items.push(summary(session));
  }
  return page.answer('clients');
}

export function showClient(core: BrokerCore, clientId: string): AdminAnswer {
  const session = core.sessions.get(clientId);
  return session === undefined
    ? { status: 404, body: { error: `no client ${clientId}` } }
    : { status: 200, body: details(session) };
}

export function kick(core: BrokerCore, clientId: string, request: AdminRequest): AdminAnswer {
  const conn = core.sessions.get(clientId)?.connection;
  if (conn === null || conn === undefined || conn.state !== 'connected') {
    return { status: 404, body: { error: `client ${clientId} is not connected` } };
  }
  logChange(core, request, `disconnected client ${clientId}`);
  // As Mosquitto kicks (mosquitto_kick_client_by_clientid): no will, MQTT 5 clients told why [MQTT-3.14.2-1].
  conn.close(true, ReasonCode.AdministrativeAction);
  return { status: 200, body: { disconnected: clientId } };
}
