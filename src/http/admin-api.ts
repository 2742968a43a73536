// Culex's admin API beside Mosquitto's /api/v1 (which is read-only): clients (search, details, kick), offline
// sessions (delete) and retained messages (browse by filter, delete), under /api/culex/v1/. Lists are paged (offset / limit, at most ADMIN_PAGE_MAX a
// page) so a broker with 100,000 sessions answers in one pass over them. Every change is logged with who made it.

import type { BrokerCore } from '../broker/broker-core.js';
import { Message } from '../broker/message.js';
import type { Session } from '../broker/session.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { validateTopicFilter } from '../protocol/topic.js';

export const ADMIN_PREFIX = '/api/culex/v1/';
export const ADMIN_PAGE_DEFAULT = 100;
export const ADMIN_PAGE_MAX = 1000;

export interface AdminAnswer {
  status: number;
  body: unknown;
}

export interface AdminRequest {
  readonly method: 'GET' | 'DELETE';
  /** Path after ADMIN_PREFIX, still URL-encoded. */
  readonly route: string;
  readonly query: URLSearchParams;
  /** Who asks, for the log line of a change. */
  readonly user: string | undefined;
  readonly remoteAddress: string;
}

function page(query: URLSearchParams): { offset: number; limit: number } {
  const number = (name: string, fallback: number, max: number): number => {
    const n = Number.parseInt(query.get(name) ?? '', 10);
    return Number.isFinite(n) && n >= 0 ? Math.min(n, max) : fallback;
  };
  return {
    offset: number('offset', 0, Number.MAX_SAFE_INTEGER),
    limit: number('limit', ADMIN_PAGE_DEFAULT, ADMIN_PAGE_MAX),
  };
}

function summary(session: Session): Record<string, unknown> {
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
    subscriptions_list: [...session.subscriptions.values()].map((s) => ({
      filter: s.filter,
      qos: s.qos,
      no_local: s.noLocal,
      retain_as_published: s.retainAsPublished,
      retain_handling: s.retainHandling,
    })),
  };
}

/** A client matches `search` when its id, username or address contains it. */
function matches(session: Session, search: string): boolean {
  if (search === '') return true;
  const conn = session.connection;
  return (
    session.clientId.includes(search) ||
    (conn?.username ?? session.owner?.username ?? '').includes(search) ||
    (conn?.remoteAddress ?? '').includes(search)
  );
}

function listClients(core: BrokerCore, query: URLSearchParams): AdminAnswer {
  const { offset, limit } = page(query);
  const search = query.get('search') ?? '';
  const clients: Record<string, unknown>[] = [];
  let total = 0;
  for (const session of core.sessions.values()) {
    if (!matches(session, search)) continue;
    if (total >= offset && clients.length < limit) clients.push(summary(session));
    total++;
  }
  return { status: 200, body: { total, offset, limit, clients } };
}

function listRetained(core: BrokerCore, query: URLSearchParams): AdminAnswer {
  const { offset, limit } = page(query);
  const filter = query.get('filter') ?? '#';
  if (validateTopicFilter(filter) !== null)
    return { status: 400, body: { error: `bad topic filter ${filter}` } };
  const all = core.retained.match(filter, core.now);
  const messages = all.slice(offset, offset + limit).map((m) => ({
    topic: m.topic,
    qos: m.qos,
    payload_bytes: m.payload.length,
    // Base64, so that binary payloads survive JSON; the dashboard decodes text itself.
    payload_base64: m.payload.toString('base64'),
  }));
  return { status: 200, body: { total: all.length, offset, limit, messages } };
}

function kick(core: BrokerCore, clientId: string, request: AdminRequest): AdminAnswer {
  const conn = core.sessions.get(clientId)?.connection;
  if (conn === null || conn === undefined || conn.state !== 'connected') {
    return { status: 404, body: { error: `client ${clientId} is not connected` } };
  }
  core.logger.log(
    'notice',
    `HTTP API: ${request.user ?? 'anonymous'} from ${request.remoteAddress} disconnected client ${clientId}.`,
  );
  // As Mosquitto kicks (mosquitto_kick_client_by_clientid): no will, MQTT 5 clients told why [MQTT-3.14.2-1].
  conn.close(true, ReasonCode.AdministrativeAction);
  return { status: 200, body: { disconnected: clientId } };
}

/** Ends an offline session as its expiry would (subscriptions, queue, a delayed will sent now). */
function deleteSession(core: BrokerCore, clientId: string, request: AdminRequest): AdminAnswer {
  const session = core.sessions.get(clientId);
  if (session === undefined) return { status: 404, body: { error: `no session ${clientId}` } };
  if (session.connection !== null) {
    return { status: 409, body: { error: `client ${clientId} is connected: disconnect it first` } };
  }
  core.logger.log(
    'notice',
    `HTTP API: ${request.user ?? 'anonymous'} from ${request.remoteAddress} deleted the session of client ${clientId}.`,
  );
  core.discardSession(session);
  return { status: 200, body: { deleted: clientId } };
}

/**
 * Removes a retained message without publishing anything (an empty retained PUBLISH would reach subscribers
 * [MQTT-3.3.1-10]); the store forgets it too.
 */
function deleteRetained(core: BrokerCore, topic: string, request: AdminRequest): AdminAnswer {
  const previous = core.retained.get(topic);
  if (previous === undefined) return { status: 404, body: { error: `no retained message on ${topic}` } };
  core.logger.log(
    'notice',
    `HTTP API: ${request.user ?? 'anonymous'} from ${request.remoteAddress} deleted the retained message of ${topic}.`,
  );
  if (core.store.durable) core.store.setRetained(topic, undefined, previous);
  core.retained.set(new Message(topic, Buffer.alloc(0), 0, true, undefined, '', 0));
  return { status: 200, body: { deleted: topic } };
}

export function answerAdmin(core: BrokerCore, request: AdminRequest): AdminAnswer {
  const parts = request.route.split('/');
  const [resource, encodedId, extra] = parts;
  let id: string | undefined;
  try {
    id = encodedId === undefined ? undefined : decodeURIComponent(encodedId);
  } catch {
    return { status: 400, body: { error: 'bad URL encoding' } };
  }
  if (extra !== undefined) return { status: 404, body: { error: 'not found' } };
  if (resource === 'clients' && id === undefined && request.method === 'GET')
    return listClients(core, request.query);
  if (resource === 'clients' && id !== undefined) {
    if (request.method === 'DELETE') return kick(core, id, request);
    const session = core.sessions.get(id);
    return session === undefined
      ? { status: 404, body: { error: `no client ${id}` } }
      : { status: 200, body: details(session) };
  }
  if (resource === 'sessions' && id !== undefined && request.method === 'DELETE')
    return deleteSession(core, id, request);
  if (resource === 'retained' && id !== undefined && request.method === 'DELETE')
    return deleteRetained(core, id, request);
  if (resource === 'retained' && id === undefined && request.method === 'GET')
    return listRetained(core, request.query);
  return { status: 404, body: { error: 'not found' } };
}
