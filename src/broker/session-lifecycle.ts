// The session lifecycle around a connection: binding it at CONNECT (takeover, Clean Start, resumption) and
// what its end sets off (shared redelivery, the will now or after its delay, session end or persistence).

import { ReasonCode } from '../protocol/reason-codes.js';
import type { BrokerCore } from './broker-core.js';
import type { Connection } from './connection.js';
import { ClientIdentity, foreignSession } from './delivery-acl.js';
import { clientDisconnectChannel, traceClient } from './diagnostics.js';
import type { ClientInfo } from './hooks.js';
import { SESSION_NEVER_EXPIRES, Session } from './session.js';
import { redistributeShared } from './shared-redelivery.js';

/** Binds a connection to its session (taking over an existing one); returns Session Present. */
export function attachSession(
  core: BrokerCore,
  conn: Connection,
  cleanStart: boolean,
  expiry: number,
): boolean {
  const clientId = conn.clientId;
  let session = core.sessions.get(clientId);
  const old = session?.connection;
  if (old !== null && old !== undefined) {
    // [MQTT-3.1.4-3] a second connection with the same identifier takes the session over.
    core.logger.log('notice', `Client ${clientId} already connected, closing old connection.`);
    old.takenOver = true;
    // The session lives on (persistent to persistent): Mosquitto drops the old will unsent, as a new
    // connection to the session came before any delay ran out [MQTT-3.1.3-9] 5.0 (docs/compatibility.md).
    if (!cleanStart && session!.expiryInterval > 0) old.will = undefined;
    old.close(false, ReasonCode.SessionTakenOver);
    session = core.sessions.get(clientId);
  }
  // Culex option: a session is not handed to another user; it ends as at a Clean Start (delivery-acl.ts).
  if (session !== undefined && (cleanStart || foreignSession(core.options, session, conn))) {
    // [MQTT-3.1.2-4] Clean Start discards any existing session; its delayed will goes out now, as the
    // session has ended [MQTT-3.1.3-9].
    core.discardSession(session);
    session = undefined;
  }
  // [MQTT-3.1.3-9] a will waiting for its delay is cancelled when the session resumes.
  core.wills.cancel(clientId);
  const present = session !== undefined;
  if (session === undefined) {
    session = new Session(clientId);
    core.sessions.set(clientId, session);
  }
  session.expiryInterval = expiry;
  session.connection = conn;
  session.owner = ClientIdentity.of(conn, conn.context.hooks);
  session.disconnectedAt = 0;
  conn.session = session;
  core.persistSession(session);
  // The will of a persistent session is kept while its client is connected, so that a broker crash
  // (an unclean end for the client) still publishes it after the restart.
  const will = conn.will;
  if (session.persisted && will !== undefined) core.wills.arm(clientId, will, conn.willDelay);
  return present;
}

export function connectionClosed(core: BrokerCore, conn: Connection, graceful: boolean): void {
  core.connections.delete(conn);
  const session = conn.session;
  if (conn.state !== 'connected' || session === null) return;
  const logged = core.options.connectionMessages && !conn.disconnectLogged && conn.context.quiet !== true;
  if (logged && core.logger.enabled('notice')) {
    core.logger.log('notice', `Client ${conn.clientId} ${conn.closeReason ?? 'closed its connection'}.`);
  }
  const now = core.now;
  const own = session.connection === conn;
  if (own) {
    session.connection = null;
    session.disconnectedAt = now;
    // Unacknowledged messages of shared subscriptions go to another member of the group, unless the
    // session is being taken over by a new connection and will resume at once.
    if (!conn.takenOver) redistributeShared(core, session);
  }
  const will = conn.will;
  // The armed copy goes whatever happens: a normal DISCONNECT discards the will, otherwise it is published
  // now or saved below as a delayed will.
  if (own) core.wills.disarm(conn.clientId);
  // Like Mosquitto, a will goes through the ACL as any PUBLISH of its client would, when it is published
  // (publishWill): a delayed will follows the ACL in force then.
  if (!graceful && will !== undefined) {
    conn.will = undefined;
    // The identity of this connection, not the session's: a takeover may have given it to another user.
    const owner = ClientIdentity.of(conn, conn.context.hooks);
    const delay = Math.min(conn.willDelay, session.expiryInterval);
    // [MQTT-3.1.3-9] MQTT 5 Will Delay Interval: wait, and cancel if the session resumes.
    if (delay > 0 && own)
      core.wills.schedule(conn.clientId, will, now + delay * 1000, delay, owner, session.persisted);
    else core.publishWill(will, conn.clientId, owner);
  }
  if (own && session.expiryInterval === 0) core.discardSession(session);
  else if (own) core.persistSession(session);
  core.emit('clientDisconnected', conn as ClientInfo);
  if (clientDisconnectChannel.hasSubscribers) traceClient(clientDisconnectChannel, conn);
}

/** Ends a session: its subscriptions leave the tree and its queued messages are dropped. */
export function discardSession(core: BrokerCore, session: Session): void {
  core.journal.unpersist(session);
  if (session.subscriptionCount > 0) {
    for (const entry of session.subscriptions.values()) core.router.remove(entry);
    session.subscriptions.clear();
  }
  session.clearQueue();
  if (session.inflightCount > 0) session.inflight.clear();
  if (core.sessions.get(session.clientId) === session) core.sessions.delete(session.clientId);
  // [MQTT-3.1.3-9] a will waiting for its delay goes out when the session ends.
  core.wills.endSession(session.clientId);
}

/** Removes the disconnected sessions whose expiry interval has run out at `now` (ms). */
export function expireSessions(core: BrokerCore, now: number): void {
  for (const session of core.sessions.values()) {
    if (session.connection !== null || session.expiryInterval === SESSION_NEVER_EXPIRES) continue;
    if (now - session.disconnectedAt >= session.expiryInterval * 1000) {
      core.logger.log('notice', `Expiring client ${session.clientId}.`);
      core.stats.sessionsExpired++;
      // The session ends before its client came back: what it held for share groups goes to another member
      // (MQTT 5 section 4.8.2, SHOULD; QoS 2 already sent stays [MQTT-4.8.2-5]).
      if (session.inflightCount > 0 || session.queuedCount > 0) redistributeShared(core, session);
      core.discardSession(session);
    }
  }
}
