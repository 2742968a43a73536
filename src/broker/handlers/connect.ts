// CONNECT: protocol checks, client identifier rules, the will, authentication (plain or enhanced); the answer
// (refusal, or session and CONNACK) is connack.ts.

import { randomUUID } from 'node:crypto';
import type { ConnectPacket, Packet } from '../../protocol/packets.js';
import type { Properties } from '../../protocol/properties.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';
import { beginConnectAuth } from '../enhanced-auth.js';
import { OutgoingTopicAliases } from '../topic-alias-out.js';
import { finishConnect, Refused, refuse, releasePending } from './connack.js';

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

function readClientLimits(conn: Connection, properties: Properties | undefined): void {
  if (properties === undefined) return;
  if (properties.receiveMaximum !== undefined) conn.receiveMaximum = properties.receiveMaximum;
  if (properties.maximumPacketSize !== undefined) conn.maximumPacketSize = properties.maximumPacketSize;
  // [MQTT-3.1.2-26] [MQTT-3.1.2-27] aliases towards the client only when it allows some, never above its maximum.
  const aliasMax = Math.min(properties.topicAliasMaximum ?? 0, conn.context.maxTopicAliasBroker ?? 65535);
  if (aliasMax > 0) conn.topicAliasesOut = new OutgoingTopicAliases(aliasMax);
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
