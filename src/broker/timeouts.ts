// The broker's once-a-second sweep over its connections: keepalive [MQTT-3.1.2-24], the connect timeout,
// packets that trickle in (slowloris), and publishers held too long by back-pressure.

import { ReasonCode } from '../protocol/reason-codes.js';
import { checkHeld } from './backpressure.js';
import type { Connection } from './connection.js';
import type { Logger } from './logger.js';

/** Base time a packet may take to arrive after its first byte; larger packets get 1 ms more per 16 bytes. */
const PARTIAL_PACKET_MS = 60_000;

/** Exceeded keepalive or connect timeout at `now` (ms). */
function timedOut(conn: Connection, now: number): boolean {
  if (conn.state === 'new' || conn.state === 'authenticating') {
    return now - conn.connectedAt > conn.broker.options.connectTimeout * 1000;
  }
  // A publisher we stopped reading is not silent. [MQTT-3.1.2-24] 1.5 x keepalive without a packet ends it.
  if (conn.pausedBy !== null || conn.clusterPaused) return false;
  // A packet that trickles in far slower than any real link (slowloris) ends the connection, keepalive or not.
  if (
    conn.partialSince !== 0 &&
    now - conn.partialSince > PARTIAL_PACKET_MS + conn.decoder.expectedBytes / 16
  ) {
    conn.closeReason = 'sent an incomplete packet for too long, disconnecting';
    return true;
  }
  return conn.keepAlive > 0 && now - conn.lastReceived > conn.keepAlive * 1500;
}

export function sweepConnections(connections: Iterable<Connection>, logger: Logger, now: number): void {
  for (const conn of connections) {
    checkHeld(conn, now);
    if (!timedOut(conn, now)) continue;
    if (conn.state === 'connected') {
      conn.closeReason ??= 'has exceeded timeout, disconnecting';
      conn.close(false, ReasonCode.KeepAliveTimeout);
    } else {
      logger.log('notice', `Client ${conn.remoteAddress} did not complete CONNECT in time, closing.`);
      conn.close(true);
    }
  }
}
