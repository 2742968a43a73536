// `WAIT numreplicas timeout` after a commit (`cluster_redis_wait_replicas`): the acknowledgements a commit covers
// go out only once that many replicas have its writes, so a failover to one of them cannot lose them.

import type { Redis } from 'ioredis';

export interface ReplicaWait {
  /** Replicas that must have the writes. */
  replicas: number;
  /** How long Redis waits for them (WAIT's timeout; never 0, which would block the connection for good). */
  timeoutMs: number;
}

/**
 * Sends WAIT on `redis` right after the writes it covers were sent on the same connection (a connection's
 * commands run in order, and WAIT covers every write the connection made before it). Rejects when fewer
 * replicas confirmed within the timeout: the caller then withholds the acknowledgements.
 */
export function waitForReplicas(redis: Redis, wait: ReplicaWait): Promise<void> {
  return redis.wait(wait.replicas, wait.timeoutMs).then((confirmed) => {
    if (confirmed < wait.replicas)
      throw new Error(
        `Redis WAIT: ${confirmed} of ${wait.replicas} replicas confirmed the writes within ${wait.timeoutMs} ms`,
      );
  });
}
