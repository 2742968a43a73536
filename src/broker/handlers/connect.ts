// CONNECT: protocol checks, client identifier rules, authentication, session set-up and CONNACK.

import { randomUUID } from 'node:crypto';
import { encodePacket } from '../../protocol/encoder.js';
import type { ConnackPacket, ConnectPacket, Packet } from '../../protocol/packets.js';
import type { Properties } from '../../protocol/properties.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { forgetFailedLogins, refuseFailedLogin } from '../auth-failure-delay.js';
import { bridgePeerOf, brokerIdentity, withPeer } from '../bridge-peer.js';
import type { Connection } from '../connection.js';
import { beginConnectAuth } from '../enhanced-auth.js';
import { traceWill } from '../packet-trace.js';
import { SESSION_NEVER_EXPIRES } from '../session.js';
import { OutgoingTopicAliases } from '../topic-alias-out.js';

/** CONNACK return codes of MQTT 3.1 / 3.1.1. */
const Refused = { version: 1, identifier: 2, unavailable: 3, credentials: 4, notAuthorized: 5 } as const;

export function handleConnect(conn: Connection, packet: ConnectPacket): void {
  conn.protocolVersion = packet.protocolVersion;
  conn.decoder.protocolVersion = packet.protocolVersion;
  conn.isBridge = packet.bridge === true;
  const broker = conn.broker;
  const options = broker.options;
  const v5 = packet.protocolVersion === 5;
  // Mosquitto 2.1 `accept_protocol_versions`: refused before anything else is read, with CONNACK 0x01 / 0x84.
  const accepted = conn.context.acceptProtocolVersions;
  if (accepted !== undefined && !accepted.includes(packet.protocolVersion)) {
    refuse(conn, Refused.version, ReasonCode.UnsupportedProtocolVersion, 'protocol version not accepted');
    return;
  }

  let keepAlive = packet.keepAlive;
  let serverKeepAlive: number | undefined;
  if (options.maxKeepalive > 0 && (keepAlive > options.maxKeepalive || keepAlive === 0)) {
    // MQTT 5 can tell the client which keepalive to use; 3.1.1 cannot, so Mosquitto refuses the identifier.
    // (3.1 / 3.1.1 clients asking too much are refused in finishConnect, after authentication, as Mosquitto does.)
    if (v5) keepAlive = serverKeepAlive = options.maxKeepalive;
  }
  conn.keepAlive = keepAlive;

  // Mosquitto reads a zero-length username or password as absent (packet__read_binary gives NULL): an empty
  // username is an anonymous client, an empty password no password at all.
  if (packet.username === '') delete packet.username;
  if (packet.password?.length === 0) delete packet.password;
  let clientId = packet.clientId;
  let assigned: string | undefined;
  if (conn.context.useUsernameAsClientId && packet.username !== undefined) clientId = packet.username;
  if (clientId === '') {
    // [MQTT-3.1.3-8] a zero-length identifier needs Clean Session in 3.1.1; MQTT 3.1 has no such identifiers.
    const allowed =
      conn.context.security.allowZeroLengthClientId &&
      (v5 || (packet.protocolVersion === 4 && packet.cleanStart));
    if (!allowed) {
      refuse(conn, Refused.identifier, ReasonCode.ClientIdentifierNotValid, 'empty client identifier');
      return;
    }
    clientId = assigned = `${conn.context.security.autoIdPrefix}${randomUUID().toUpperCase()}`;
  } else if (packet.protocolVersion === 3 && clientId.length > 23) {
    refuse(
      conn,
      Refused.identifier,
      ReasonCode.ClientIdentifierNotValid,
      'MQTT 3.1 client identifier over 23 characters',
    );
    return;
  }
  if (options.clientIdPrefixes !== undefined && !clientId.startsWith(options.clientIdPrefixes)) {
    refuse(conn, Refused.notAuthorized, ReasonCode.NotAuthorized, 'client identifier prefix not allowed');
    return;
  }
  conn.clientId = clientId;
  conn.username = conn.context.certificateUsername ?? packet.username;

  const limit = options.messageSizeLimit;
  if (packet.will !== undefined && limit > 0 && packet.will.payload.length > limit) {
    // As Mosquitto: a will larger than message_size_limit refuses the CONNECT (5 in 3.1.1, 0x95 in MQTT 5).
    broker.logger.log('debug', `Client ${clientId} connected with too large Will payload`);
    broker.logger.log('notice', 'Client <unknown> disconnected due to oversize payload.');
    conn.send({
      type: 2,
      sessionPresent: false,
      reasonCode: v5 ? ReasonCode.PacketTooLarge : Refused.notAuthorized,
    });
    conn.close(true);
    return;
  }
  const willError = prepareWill(conn, packet);
  if (willError !== 0) {
    if (!v5) {
      // 3.1 / 3.1.1 have no code for it: Mosquitto closes without a CONNACK (which the specification allows).
      conn.broker.logger.log('notice', `Client ${clientId} connection refused: will not acceptable.`);
      conn.close(true);
      return;
    }
    // MQTT 5: the reason; with the Maximum QoS for a will QoS above it, as Mosquitto sends it.
    const limit = willError === ReasonCode.QoSNotSupported ? { maximumQoS: conn.context.maxQos } : undefined;
    refuse(conn, Refused.notAuthorized, willError, 'will not acceptable', limit);
    return;
  }

  if (conn.context.certificateUsername === null) {
    // Mosquitto completes TLS, then refuses a client without a usable certificate identity as bad credentials.
    refuse(conn, Refused.credentials, ReasonCode.BadUserNameOrPassword, 'no usable certificate identity');
    return;
  }

  if (v5) readClientLimits(conn, packet.properties);
  const authMethod = packet.properties?.authenticationMethod;
  if (authMethod !== undefined) {
    // Enhanced authentication needs a hook; without one the method is unknown [MQTT-4.12.0-1].
    if (conn.context.hooks.enhancedAuth === undefined) {
      refuse(conn, Refused.notAuthorized, ReasonCode.BadAuthenticationMethod, 'no enhanced authentication');
      return;
    }
    // The hook decides alone; username / password checks do not apply to this connection.
    beginConnectAuth(conn, authMethod, packet.properties?.authenticationData, (outcome) => {
      if (outcome.ok) finishConnect(conn, packet, true, assigned, serverKeepAlive, outcome.properties);
      else refuse(conn, Refused.notAuthorized, outcome.reasonCode, 'enhanced authentication failed');
    });
    return;
  }

  const outcome = authenticate(conn, packet);
  if (typeof outcome === 'boolean') {
    finishConnect(conn, packet, outcome, assigned, serverKeepAlive);
    return;
  }
  // Asynchronous check (password hashing, a plugin): hold later packets until it ends.
  conn.state = 'authenticating';
  conn.pending = [];
  conn.stream.pause();
  outcome.then(
    (ok) => resumeAfterAuth(conn, packet, ok, assigned, serverKeepAlive),
    (err: unknown) => {
      broker.logger.log('error', `Authentication of client ${clientId} failed: ${String(err)}`);
      resumeAfterAuth(conn, packet, false, assigned, serverKeepAlive);
    },
  );
}

function resumeAfterAuth(
  conn: Connection,
  packet: ConnectPacket,
  ok: boolean,
  assigned: string | undefined,
  serverKeepAlive: number | undefined,
): void {
  if (conn.state === 'closed') return;
  const pending = conn.pending ?? [];
  conn.pending = undefined;
  finishConnect(conn, packet, ok, assigned, serverKeepAlive);
  // A cluster claim still running holds the packets on (claimSession).
  const held = conn.pending as Packet[] | undefined;
  if (held !== undefined) held.unshift(...pending);
  else releasePending(conn, pending);
}

function releasePending(conn: Connection, pending: readonly Packet[]): void {
  if (conn.state !== 'connected') return;
  conn.stream.resume();
  for (const p of pending) conn.onPacket(p);
}

function authenticate(conn: Connection, packet: ConnectPacket): boolean | Promise<boolean> {
  const security = conn.context.security;
  const hook = conn.context.hooks.authenticate;
  const username = conn.username;
  if (username === undefined) return security.allowAnonymous;
  // A username proven by a TLS certificate or PSK identity needs no password check.
  if (conn.context.certificateUsername !== undefined) return true;
  if (hook === undefined) return security.allowAnonymous;
  return hook({
    clientId: conn.clientId,
    username,
    password: packet.password,
    remoteAddress: conn.remoteAddress,
    listenerPort: conn.context.port,
  });
}

function finishConnect(
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

function readClientLimits(conn: Connection, properties: Properties | undefined): void {
  if (properties === undefined) return;
  if (properties.receiveMaximum !== undefined) conn.receiveMaximum = properties.receiveMaximum;
  if (properties.maximumPacketSize !== undefined) conn.maximumPacketSize = properties.maximumPacketSize;
  // [MQTT-3.1.2-26] [MQTT-3.1.2-27] aliases towards the client only when it allows some, never above its maximum.
  const aliasMax = Math.min(properties.topicAliasMaximum ?? 0, conn.context.maxTopicAliasBroker ?? 65535);
  if (aliasMax > 0) conn.topicAliasesOut = new OutgoingTopicAliases(aliasMax);
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

/** Builds the Will Message; returns a reason code when the server cannot accept it. */
function prepareWill(conn: Connection, packet: ConnectPacket): number {
  const will = packet.will;
  if (will === undefined) return 0;
  if (will.qos > conn.context.maxQos) return ReasonCode.QoSNotSupported;
  if (will.retain && !conn.broker.options.retainAvailable) return ReasonCode.RetainNotSupported;
  const props = will.properties;
  const delay = props?.willDelayInterval ?? 0;
  let forwarded: Properties | undefined;
  if (props !== undefined) {
    forwarded = { ...props };
    delete forwarded.willDelayInterval;
    if (Object.keys(forwarded).length === 0) forwarded = undefined;
  }
  const topic = conn.context.mountPoint + will.topic;
  // A will must not be able to issue control commands later (refused as later Mosquitto 2.0.x refuses it).
  if (topic.startsWith('$CONTROL/')) return ReasonCode.NotAuthorized;
  conn.will =
    forwarded === undefined
      ? { topic, payload: will.payload, qos: will.qos, retain: will.retain }
      : { topic, payload: will.payload, qos: will.qos, retain: will.retain, properties: forwarded };
  conn.willDelay = delay;
  return 0;
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
