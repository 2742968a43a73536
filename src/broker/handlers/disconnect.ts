// DISCONNECT from the client: a normal end without the will, unless MQTT 5 reason 0x04 asks for it.

import type { DisconnectPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';

export function handleDisconnect(conn: Connection, packet: DisconnectPacket): void {
  const session = conn.session;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined && session !== null) {
    // [MQTT-3.14.2-2] a session that was to end at disconnection cannot be given an expiry now.
    if (session.expiryInterval === 0 && expiry !== 0) {
      conn.protocolError(ReasonCode.ProtocolError, 'session expiry set on DISCONNECT after 0 on CONNECT');
      return;
    }
    session.expiryInterval = expiry;
  }
  if (conn.broker.options.connectionMessages && conn.context.quiet !== true)
    conn.broker.logger.log('notice', `Client ${conn.clientId} disconnected.`);
  conn.disconnectLogged = true;
  // [MQTT-3.14.4-3] a normal DISCONNECT discards the will; 0x04 keeps it.
  conn.close(packet.reasonCode !== ReasonCode.DisconnectWithWillMessage);
}
