// The connection type Culex's Redis code is written against: one server (standalone or found through Sentinel) or
// a Redis Cluster (cluster_redis_cluster). Both are ioredis Commanders with the same commands, MULTI, pipelines,
// Lua and pub/sub; every key Culex uses carries one hash tag on a Cluster, so each command stays in one slot.

import type { Cluster, Redis } from 'ioredis';

export type { ChainableCommander } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Where a connection goes, for the persistence log line (never a password). */
export function describeClient(redis: RedisClient): string {
  // Only the Cluster client has a slot table.
  if ('slots' in redis) {
    const seeds = redis.nodes('master').map((n) => `${n.options.host ?? ''}:${n.options.port ?? 0}`);
    return `cluster ${seeds.join(', ')}`;
  }
  const o = redis.options;
  return o.sentinels === undefined || o.sentinels === null
    ? `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`
    : `Sentinel master ${o.name ?? ''}`;
}
