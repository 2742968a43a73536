// `WAIT numreplicas timeout` after a commit (`cluster_redis_wait_replicas`): the acknowledgements a commit covers
// go out only once that many replicas have its writes, so a failover to one of them cannot lose them.

import type { RedisClient } from './redis-client.js';

export interface ReplicaWait {
  /** Replicas that must have the writes. */
  replicas: number;
  /** How long Redis waits for them (WAIT's timeout; never 0, which would block the connection for good). */
  timeoutMs: number;
  /**
   * On a Redis Cluster, a key in the one hash slot every Culex key is in: WAIT has no key, and sent alone it would
   * go to any node, not to the primary that took the writes.
   */
  slotKey?: string;
}

/**
 * Sends WAIT on `redis` right after the writes it covers were sent on the same connection (a connection's
 * commands run in order, and WAIT covers every write the connection made before it). Rejects when fewer
 * replicas confirmed within the timeout: the caller then withholds the acknowledgements.
 */
export function waitForReplicas(redis: RedisClient, wait: ReplicaWait): Promise<void> {
  return sendWait(redis, wait).then((confirmed) => {
    if (confirmed < wait.replicas)
      throw new Error(
        `Redis WAIT: ${confirmed} of ${wait.replicas} replicas confirmed the writes within ${wait.timeoutMs} ms`,
      );
  });
}

function sendWait(redis: RedisClient, wait: ReplicaWait): Promise<number> {
  if (wait.slotKey === undefined || !('slots' in redis)) return redis.wait(wait.replicas, wait.timeoutMs);
  // A pipeline goes to the node of its keys' slot, on the connection the MULTI used.
  return redis
    .pipeline()
    .exists(wait.slotKey)
    .wait(wait.replicas, wait.timeoutMs)
    .exec()
    .then((replies) => {
      const [err, confirmed] = replies?.[1] ?? [new Error('Redis WAIT: no reply'), 0];
      if (err !== null) throw err;
      return Number(confirmed);
    });
}
