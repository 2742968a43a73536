// Disconnecting clients on an administrator's behalf (mosquitto_kick_client_by_username): used when their
// credentials or permissions change, so they reconnect and meet the new rules.

import { ReasonCode } from '../protocol/reason-codes.js';
import type { BrokerCore } from './broker-core.js';

/** Closes every connection whose username is in `usernames` (undefined: those without one), wills dropped. */
export function disconnectByUsername(broker: BrokerCore, usernames: ReadonlySet<string | undefined>): number {
  let count = 0;
  for (const session of broker.sessions.values()) {
    const conn = session.connection;
    if (conn === null || conn.state !== 'connected' || !usernames.has(conn.username)) continue;
    // MQTT 5 clients are told why [MQTT-3.14.2-1]; the will is not published, as Mosquitto kicks without it.
    conn.close(true, ReasonCode.AdministrativeAction);
    count++;
  }
  return count;
}
