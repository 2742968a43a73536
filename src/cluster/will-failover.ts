// Wills in a cluster: the armed will of every connected client is in Redis (a persistent session's through the
// will scheduler; a clean session's here), so that when its node dies the survivor that takes the client id
// publishes it, once (GETDEL: whoever reads it first sends it).

import type { BrokerCore } from '../broker/broker-core.js';
import type { Connection } from '../broker/connection.js';
import { decodeWill } from '../persistence/redis-codec.js';
import type { RedisStore } from '../persistence/redis-store.js';

/** Publishes the will stored for a client id that has no session left; true when there was one. */
export async function publishOrphanWill(
  core: BrokerCore,
  store: RedisStore,
  clientId: string,
): Promise<boolean> {
  const text = (await store.redis.getdel(store.keys.will(clientId))) as string | null;
  if (text === null) return false;
  const { will } = decodeWill(text);
  // The client's connection ended with its node, uncleanly: as on one node, the will goes [MQTT-3.1.2-8]; a
  // Will Delay Interval cannot outlive a session that ended with the connection.
  core.publishWill(will, clientId, undefined);
  return true;
}

/** Arms the wills of clean sessions in Redis too (persistent ones are armed by the will scheduler). */
export function armCleanSessionWills(core: BrokerCore, store: RedisStore): void {
  const armed = new Set<string>();
  core.on('clientConnected', (info) => {
    const conn = info as unknown as Connection;
    const will = conn.will;
    if (will === undefined || conn.session?.persisted === true) return;
    store.saveWill({ clientId: conn.clientId, will, dueAt: 0, delay: 0 });
    armed.add(conn.clientId);
  });
  core.on('clientDisconnected', (info) => {
    if (armed.delete(info.clientId)) store.deleteWill(info.clientId);
  });
}
