// /api/culex/v1/sessions: every session, online and offline (kept for its Session Expiry Interval), paged;
// one session; ending an offline one (DELETE); and purging a session's queue (DELETE .../queue).

import type { BrokerCore } from '../broker/broker-core.js';
import { SESSION_NEVER_EXPIRES, type Session } from '../broker/session.js';
import { type AdminAnswer, type AdminRequest, logChange, PageCollector } from './admin-api.js';
import { matches, subscriptionsList } from './admin-clients.js';

type StateFilter = 'online' | 'offline' | 'all';

function sessionView(session: Session): Record<string, unknown> {
  const online = session.connection !== null;
  const never = session.expiryInterval === SESSION_NEVER_EXPIRES;
  return {
    client_id: session.clientId,
    online,
    username: session.connection?.username ?? session.owner?.username ?? null,
    expiry_interval: session.expiryInterval,
    disconnected_at:
      online || session.disconnectedAt === 0 ? null : new Date(session.disconnectedAt).toISOString(),
    // When an offline session ends unless its client returns; null while online or for a session that never expires.
    expires_at:
      online || never || session.disconnectedAt === 0
        ? null
        : new Date(session.disconnectedAt + session.expiryInterval * 1000).toISOString(),
    subscriptions: session.subscriptionCount,
    queued: session.queuedCount,
    queued_bytes: session.queuedBytes,
    inflight: session.inflightCount,
    dropped: session.dropped,
  };
}

export function listSessions(core: BrokerCore, query: URLSearchParams): AdminAnswer {
  const state = (query.get('state') ?? 'all') as StateFilter;
  if (state !== 'online' && state !== 'offline' && state !== 'all')
    return { status: 400, body: { error: `state must be online, offline or all, not ${String(state)}` } };
  const search = query.get('search') ?? '';
  const page = new PageCollector<Record<string, unknown>>(query);
  const wantOnline = state === 'online';
  for (const session of core.sessions.values()) {
    if (state !== 'all' && (session.connection !== null) !== wantOnline) continue;
    if (matches(session, search) && page.wants()) page.items.push(sessionView(session));
  }
  return page.answer('sessions');
}

export function showSession(core: BrokerCore, clientId: string): AdminAnswer {
  const session = core.sessions.get(clientId);
  if (session === undefined) return { status: 404, body: { error: `no session ${clientId}` } };
  return {
    status: 200,
    body: { ...sessionView(session), subscriptions_list: subscriptionsList(session) },
  };
}

/** Ends an offline session as its expiry would (subscriptions, queue, a delayed will sent now). */
export function deleteSession(core: BrokerCore, clientId: string, request: AdminRequest): AdminAnswer {
  const session = core.sessions.get(clientId);
  if (session === undefined) return { status: 404, body: { error: `no session ${clientId}` } };
  if (session.connection !== null) {
    return { status: 409, body: { error: `client ${clientId} is connected: disconnect it first` } };
  }
  logChange(core, request, `deleted the session of client ${clientId}`);
  core.discardSession(session);
  return { status: 200, body: { deleted: clientId } };
}

/**
 * Drops the messages waiting in a session's queue (online or offline) and their stored copies; messages in
 * flight stay, as their packet identifiers are the client's to complete [MQTT-4.4.0-1]. Counted as nothing:
 * an operator's purge is neither a full queue nor a slow consumer.
 */
export function purgeQueue(core: BrokerCore, clientId: string, request: AdminRequest): AdminAnswer {
  const session = core.sessions.get(clientId);
  if (session === undefined) return { status: 404, body: { error: `no session ${clientId}` } };
  const messages = session.queuedCount;
  const bytes = session.queuedBytes;
  for (let i = session.queueHead; i < session.queue.length; i++) core.forgetDelivery(session.queue[i]!);
  session.clearQueue();
  logChange(core, request, `purged the queue of client ${clientId} (${messages} messages)`);
  return { status: 200, body: { purged: clientId, messages, bytes } };
}
