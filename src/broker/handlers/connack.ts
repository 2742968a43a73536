// Answering a CONNECT that passed its checks: the refusal CONNACK, or acceptance (global_max_clients, the
// cluster-wide session claim through `core.sessionClaim`, the session attached, the CONNACK and its MQTT 5 properties).

import { encodePacket } from '../../protocol/encoder.js';
import type { ConnackPacket, ConnectPacket, Packet } from '../../protocol/packets.js';
import type { Properties } from '../../protocol/properties.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { forgetFailedLogins, refuseFailedLogin } from '../auth-failure-delay.js';
import { bridgePeerOf, brokerIdentity, withPeer } from '../bridge-peer.js';
import type { Connection } from '../connection.js';
import { traceWill } from '../packet-trace.js';
import { SESSION_NEVER_EXPIRES } from '../session.js';

/** CONNACK return codes of MQTT 3.1 / 3.1.1. */
export const Refused = {
  version: 1,
  identifier: 2,
  unavailable: 3,
  credentials: 4,
  notAuthorized: 5,
} as const;

export function finishConnect(
  conn: Connection,
  packet: ConnectPacket,
  authenticated: boolean,
  assigned: string | undefined,
  serverKeepAlive: number | undefined,
  authProperties?: Properties,
): void {
  if (!authenticated) {
    // Mosquitto answers every refused login with "not authorized" (5 / 0x87), bad password or anonymous;
    // the specification leaves the choice between that and "bad user name or password" to the server.
    const anonymous = conn.username === undefined;
    conn.broker.stats.loginsRefused++;
    const send = (): void =>
      refuse(
        conn,
        Refused.notAuthorized,
        ReasonCode.NotAuthorized,
        anonymous ? 'anonymous clients not allowed' : 'bad username or password',
      );
    // Only a password check can be guessed at; auth_failure_delay (Culex-only) slows those refusals.
    if (anonymous) send();
    else refuseFailedLogin(conn, send);
    return;
  }
  forgetFailedLogins(conn);
  const broker = conn.broker;
  const maxKeepalive = broker.options.maxKeepalive;
  if (conn.protocolVersion !== 5 && maxKeepalive > 0 && packet.keepAlive > maxKeepalive) {
    // Checked after the client id prefix and credentials, so those refusals win as they do in Mosquitto.
    refuse(conn, Refused.identifier, ReasonCode.ClientIdentifierNotValid, 'keepalive above max_keepalive');
    return;
  }
  if (overGlobalMaxClients(conn)) return;
  const ack: ConnackPacket = { type: 2, sessionPresent: false, reasonCode: 0 };
  if (conn.protocolVersion === 5) {
    const properties = connackProperties(conn, packet, assigned, serverKeepAlive, authProperties);
    if (properties !== undefined) ack.properties = properties;
    if (bridgePeerOf(packet) !== undefined)
      ack.properties = withPeer(ack.properties ?? {}, brokerIdentity(broker));
    // [MQTT-3.1.2-24] 5.0 nothing above the client's Maximum Packet Size, the CONNACK included: Mosquitto then
    // closes the connection without any answer (and without touching a session), so does Culex.
    const limit = conn.maximumPacketSize;
    if (limit !== 0 && encodePacket(ack, 5).length > limit) {
      broker.logger.log(
        'notice',
        `Client ${conn.clientId} CONNACK above its maximum packet size; disconnecting.`,
      );
      conn.close(true);
      return;
    }
  }
  const claim = broker.sessionClaim;
  if (claim === undefined) attachAndAck(conn, packet, ack);
  else claimSession(conn, packet, ack, claim);
}

/**
 * Cluster mode: the client id is claimed cluster-wide before the session is attached (another node's connection
 * of that client is closed and its session handed over). Packets that arrive meanwhile wait.
 */
function claimSession(
  conn: Connection,
  packet: ConnectPacket,
  ack: ConnackPacket,
  claim: (clientId: string, cleanStart: boolean) => Promise<void>,
): void {
  const previous = conn.state;
  conn.state = 'authenticating';
  conn.pending ??= [];
  conn.stream.pause();
  const done = (ok: boolean): void => {
    if (conn.state === 'closed') return;
    const pending = conn.pending ?? [];
    conn.pending = undefined;
    conn.state = previous;
    if (ok) attachAndAck(conn, packet, ack);
    else refuse(conn, Refused.unavailable, ReasonCode.ServerUnavailable, 'cluster session claim failed');
    releasePending(conn, pending);
  };
  claim(conn.clientId, packet.cleanStart).then(
    () => done(true),
    (err: unknown) => {
      conn.broker.logger.log('error', `Cluster: claim of client ${conn.clientId} failed: ${String(err)}`);
      done(false);
    },
  );
}

function attachAndAck(conn: Connection, packet: ConnectPacket, ack: ConnackPacket): void {
  const broker = conn.broker;
  const expiry = sessionExpiry(conn, packet);
  // MQTT 3.1 has no Session Present flag: its CONNACK flags byte is reserved (0), as Mosquitto sends it.
  ack.sessionPresent = broker.attachSession(conn, packet.cleanStart, expiry) && conn.protocolVersion !== 3;
  conn.session!.bridgePeer = bridgePeerOf(packet);
  conn.markConnected();
  if (broker.options.connectionMessages && conn.context.quiet !== true && broker.logger.enabled('notice')) {
    const user = conn.username === undefined ? '' : `, u'${conn.username}'`;
    const p = conn.protocolVersion === 3 ? 1 : conn.protocolVersion === 4 ? 2 : 5;
    broker.logger.log(
      'notice',
      // Mosquitto names a try_private connection a bridge.
      `New ${conn.isBridge ? 'bridge' : 'client'} connected from ${conn.remoteAddress} as ${conn.clientId} (p${p}, c${packet.cleanStart ? 1 : 0}, k${conn.keepAlive}${user}).`,
    );
  }
  if (broker.logger.enabled('debug')) traceWill(conn, packet);
  conn.send(ack);
  broker.clientConnected(conn);
}

/** Seconds the session outlives the connection [MQTT-3.1.2-23]; 3.1.1 persistent sessions use persistent_client_expiration. */
function sessionExpiry(conn: Connection, packet: ConnectPacket): number {
  if (conn.protocolVersion === 5) return packet.properties?.sessionExpiryInterval ?? 0;
  if (packet.cleanStart) return 0;
  const limit = conn.broker.options.persistentClientExpiration;
  return limit > 0 ? limit : SESSION_NEVER_EXPIRES;
}

/**
 * Mosquitto 2.1 `global_max_clients`, checked once the client is authorised: a new session beyond the limit is
 * refused with 0x89 Server busy (MQTT 5) or, as 2.1 does for 3.1 / 3.1.1, by closing without a CONNACK. The
 * client's own earlier session, which it takes over, does not count.
 */
function overGlobalMaxClients(conn: Connection): boolean {
  const broker = conn.broker;
  const max = broker.options.globalMaxClients;
  if (max <= 0) return false;
  const held = broker.sessions.size - (broker.sessions.has(conn.clientId) ? 1 : 0);
  if (held < max) return false;
  if (conn.protocolVersion === 5) {
    refuse(conn, Refused.unavailable, ReasonCode.ServerBusy, 'global_max_clients reached');
  } else {
    broker.logger.log('notice', `Client ${conn.clientId} connection refused: global_max_clients reached.`);
    conn.close(true);
  }
  return true;
}

/**
 * CONNACK properties that tell an MQTT 5 client what this server really does. Key order is wire order and
 * follows Mosquitto 2.0.11 (checked by sending it the same CONNECT). Wildcard, Subscription Identifier and
 * Shared Subscription Available are omitted: absent means supported (3.2.2.3.11-13), and Culex supports all three.
 */
function connackProperties(
  conn: Connection,
  packet: ConnectPacket,
  assigned: string | undefined,
  serverKeepAlive: number | undefined,
  authProperties: Properties | undefined,
): Properties | undefined {
  const options = conn.broker.options;
  const p: Properties = {};
  if (conn.context.maxTopicAlias !== 0) p.topicAliasMaximum = conn.context.maxTopicAlias;
  // [MQTT-3.1.2-21] the client must use the keepalive the server sets.
  if (serverKeepAlive !== undefined) p.serverKeepAlive = serverKeepAlive;
  // [MQTT-3.2.2-16] an identifier we assigned is reported back.
  if (assigned !== undefined) p.assignedClientIdentifier = assigned;
  if (!options.retainAvailable) p.retainAvailable = 0;
  if (options.maxPacketSize > 0) p.maximumPacketSize = options.maxPacketSize;
  if (options.maxInflightMessages > 0 && options.maxInflightMessages < 65535)
    p.receiveMaximum = options.maxInflightMessages;
  if (conn.context.maxQos < 2) p.maximumQoS = conn.context.maxQos;
  const prefix = options.responseInformationPrefix;
  // Response Information only when asked for [MQTT-3.1.2-28] and configured (sending none is allowed).
  if (prefix !== undefined && packet.properties?.requestResponseInformation === 1) {
    p.responseInformation = `${prefix}${conn.clientId}`;
  }
  if (authProperties !== undefined) Object.assign(p, authProperties);
  return Object.keys(p).length === 0 ? undefined : p;
}

/** Refuses the connection with a CONNACK carrying the reason, then closes it [MQTT-3.2.2-5]. */
export function refuse(
  conn: Connection,
  code3: number,
  code5: number,
  why: string,
  properties?: Properties,
): void {
  const v5 = conn.protocolVersion === 5;
  const ack: ConnackPacket = { type: 2, sessionPresent: false, reasonCode: v5 ? code5 : code3 };
  if (v5 && properties !== undefined) ack.properties = properties;
  conn.send(ack);
  // Mosquitto's line for every "not authorised" refusal (credentials, anonymous, client id prefix), written once
  // the CONNACK is out and naming no client id, as none was accepted; other refusals say why.
  const logger = conn.broker.logger;
  if (code3 === Refused.notAuthorized) logger.log('notice', 'Client <unknown> disconnected, not authorised.');
  else logger.log('notice', `Client ${conn.clientId || '<unknown>'} connection refused: ${why}.`);
  conn.close(true);
}

export function releasePending(conn: Connection, pending: readonly Packet[]): void {
  if (conn.state !== 'connected') return;
  conn.stream.resume();
  for (const p of pending) conn.onPacket(p);
}
