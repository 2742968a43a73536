// A node taken for dead while it was alive (cut off from Redis, or stalled, for longer than cluster_node_timeout)
// finds on its next beat that a survivor has adopted its sessions. Both would then hold them, and what each writes
// for a session would overwrite the other's (seen: most of a persistent subscriber's queue lost). So the node
// gives up every session whose client id Redis no longer gives it: the connection is closed as a takeover (0x8E
// for MQTT 5) without its will (the reaper published it) and the session leaves memory without a write; the
// client reconnects and resumes from the owner.

import type { BrokerCore } from '../broker/broker-core.js';
import type { RedisStore } from '../persistence/redis-store.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { SessionHandoff } from './session-handoff.js';

/** Gives up the sessions this node holds that Redis says it no longer owns; resolves with how many. */
export async function fenceSessions(
  core: BrokerCore,
  store: RedisStore,
  handoff: SessionHandoff,
): Promise<number> {
  const ids = [...core.sessions.keys()];
  if (ids.length === 0) return 0;
  const owners = await store.redis.hmget(store.keys.owner, ...ids);
  let fenced = 0;
  for (const [i, clientId] of ids.entries()) {
    if (owners[i] === store.nodeId) continue;
    const session = core.sessions.get(clientId);
    if (session === undefined) continue;
    const conn = session.connection;
    handoff.forget(session);
    if (conn !== null) {
      // Detached first: closing then neither persists the session nor schedules its will.
      session.connection = null;
      conn.will = undefined;
      conn.takenOver = true;
      conn.close(false, ReasonCode.SessionTakenOver);
    }
    fenced++;
  }
  if (fenced > 0)
    core.logger.log(
      'warning',
      `Cluster: ${fenced} sessions were adopted by other nodes while this node was taken for dead; their clients must reconnect.`,
    );
  return fenced;
}
