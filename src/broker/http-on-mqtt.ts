// An HTTP request (usually a WebSocket upgrade: desktop clients try ws://host:9001) sent to a plain MQTT listener.
// Its first byte 'G' (0x47) would be read as a PUBACK with reserved flags: say what is wrong instead.

import type { Connection } from './connection.js';

const GET = Buffer.from('GET ');

/** True for the first bytes of a connection on a plain MQTT listener that start an HTTP GET. */
export function isHttpRequest(conn: Connection, chunk: Buffer): boolean {
  return (
    chunk[0] === 0x47 &&
    conn.context.plainMqtt === true &&
    conn.decoder.bufferedBytes === 0 &&
    chunk.length >= GET.length &&
    chunk.compare(GET, 0, GET.length, 0, GET.length) === 0
  );
}

/** Logs why and closes the connection (Mosquitto closes it too, as a protocol error). */
export function refuseHttp(conn: Connection): void {
  conn.broker.logger.log(
    'notice',
    `Client ${conn.remoteAddress} sent an HTTP request to the plain MQTT listener on port ${conn.context.port}; ` +
      `for WebSocket clients (ws://) put "protocol websockets" under "listener ${conn.context.port}" in the configuration. Disconnecting.`,
  );
  conn.close(false);
}
