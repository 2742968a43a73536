// How a connection ends on bad input: a packet the decoder refused, a protocol violation a handler found, or
// an error of its socket; with Mosquitto's log lines and its choice of closing with or without a DISCONNECT.

import { type MqttProtocolError, Rule } from '../protocol/errors.js';
import type { Connection } from './connection.js';
import { disconnectReason } from './mosquitto-close.js';

/** The decoder refused what the client sent. */
export function decodeFailed(conn: Connection, error: MqttProtocolError): void {
  // [MQTT-3.1.2-2] an unsupported protocol level is answered with CONNACK 0x01 before closing (as Mosquitto).
  if (conn.state === 'new' && error.rule === Rule.UnsupportedProtocolVersion) {
    conn.send({ type: 2, sessionPresent: false, reasonCode: 1 });
  }
  const reason = disconnectReason(error.rule, error.reasonCode);
  endForProtocolError(conn, reason ?? error.reasonCode, error.message, reason !== undefined);
}

/**
 * Ends the connection for a protocol violation: MQTT 5 clients get a DISCONNECT with the reason first, unless
 * `disconnect` is false (where Mosquitto just closes: sending one is a SHOULD, 5.0 §4.13.2).
 */
export function endForProtocolError(
  conn: Connection,
  reasonCode: number,
  why: string,
  disconnect: boolean,
): void {
  if (conn.state === 'closed') return;
  conn.broker.logger.log(
    'notice',
    `Client ${conn.clientId || '<unknown>'} protocol error: ${why}; disconnecting.`,
  );
  // [MQTT-4.13.1-1] for 3.1.1 close without sending; MQTT 5 may send DISCONNECT with a reason code >= 0x80
  // but only after CONNACK [MQTT-3.14.0-1].
  if (disconnect && conn.protocolVersion === 5 && conn.state === 'connected') {
    conn.send({ type: 14, reasonCode });
  }
  conn.close(false);
}

/** The socket failed (reset, timed out): logged unless the connection was already ending. */
export function streamFailed(conn: Connection, err: Error, closing: boolean): void {
  if (conn.state !== 'closed' && !closing) {
    conn.broker.logger.log(
      'notice',
      `Client ${conn.clientId || '<unknown>'} socket error: ${err.message}; disconnecting.`,
    );
  }
  conn.stream.destroy();
}
