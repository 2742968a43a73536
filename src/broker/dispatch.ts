// The single dispatch switch: one handler per packet type, and the packets a client may never send.

import type { Packet } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Connection } from './connection.js';
import { handleAck } from './handlers/ack.js';
import { handleAuth } from './handlers/auth.js';
import { handleConnect } from './handlers/connect.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { handlePublish } from './handlers/publish.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';
import { traceIncoming } from './packet-trace.js';

export function dispatchPacket(conn: Connection, packet: Packet): void {
  if (conn.broker.logger.enabled('debug')) traceIncoming(conn, packet);
  if (conn.state === 'new') {
    // [MQTT-3.1.0-1] the first packet from the client must be CONNECT.
    if (packet.type !== 1) {
      conn.protocolError(ReasonCode.ProtocolError, 'first packet was not CONNECT');
      return;
    }
    handleConnect(conn, packet);
    return;
  }
  if (conn.state === 'authenticating' && packet.type !== 15 && packet.type !== 14) {
    // [MQTT-3.1.2-30] during an enhanced authentication exchange only AUTH and DISCONNECT may be sent.
    conn.protocolError(ReasonCode.ProtocolError, `packet type ${packet.type} before CONNACK`);
    return;
  }
  switch (packet.type) {
    case 3:
      handlePublish(conn, packet);
      return;
    case 4:
    case 5:
    case 6:
    case 7:
      handleAck(conn, packet);
      return;
    case 8:
      handleSubscribe(conn, packet);
      return;
    case 10:
      handleUnsubscribe(conn, packet);
      return;
    case 12:
      conn.send({ type: 13 });
      return;
    case 14:
      handleDisconnect(conn, packet);
      return;
    case 15:
      handleAuth(conn, packet);
      return;
    case 1:
      // [MQTT-3.1.0-2] a second CONNECT is a protocol violation; closed without DISCONNECT, as Mosquitto does.
      conn.protocolError(ReasonCode.ProtocolError, 'second CONNECT on one connection', false);
      return;
    case 9:
      // MQTT 3.1 does not make a SUBACK from a client an error: Mosquitto ignores it there.
      if (conn.protocolVersion === 3) return;
      conn.protocolError(ReasonCode.ProtocolError, 'SUBACK is not sent by clients', false);
      return;
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP are server-to-client only; Mosquitto closes without DISCONNECT.
      conn.protocolError(
        ReasonCode.ProtocolError,
        `packet type ${packet.type} is not sent by clients`,
        false,
      );
  }
}
