// What a Culex cluster node needs to know (the Culex-only `cluster_*` options of mosquitto.conf). Cluster mode is
// on when a configuration has `cluster_redis_url`; without it none of src/cluster is loaded.

import { hostname } from 'node:os';
import type { WorkerLinkOptions } from './worker-links.js';

/**
 * The default node id: stable across restarts of the same node (a crashed node comes back as itself). Here and
 * not in cluster.ts so that `workers N` (src/cli/workers.ts) names its workers without loading the cluster.
 */
export function defaultNodeId(port: number | undefined): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 48) || 'culex';
  return `${host}-${port ?? 1883}`;
}

export interface ClusterTlsOptions {
  /** `cluster_redis_cafile`: CA certificates (PEM) that sign the Redis server's certificate. */
  cafile?: string;
  /** `cluster_redis_certfile` / `cluster_redis_keyfile`: a client certificate for Redis, both or neither. */
  certfile?: string;
  keyfile?: string;
}

/** One Redis Sentinel (`cluster_redis_sentinel host:port`). */
export interface SentinelAddress {
  host: string;
  port: number;
}

/** Redis through Sentinel: the nodes ask the Sentinels which server is the primary of `master`. */
export interface ClusterSentinelOptions {
  /** `cluster_redis_sentinel` lines, in order (1 to 16). */
  sentinels: SentinelAddress[];
  /** `cluster_redis_sentinel_master`: the name the Sentinels monitor the primary under. */
  master: string;
  /** `cluster_redis_sentinel_username` / `cluster_redis_sentinel_password`: the Sentinels' own credentials. */
  username?: string;
  password?: string;
}

/** `cluster_redis_wait_replicas` / `cluster_redis_wait_timeout`: WAIT after each commit (redis-wait.ts). */
export interface ClusterWaitOptions {
  replicas: number;
  timeoutMs: number;
  /** With `cluster_redis_cluster`: a key of the cluster's one hash slot, where WAIT is sent (redis-wait.ts). */
  slotKey?: string;
}

export interface ClusterOptions {
  /** `cluster_redis_url`: redis://[user:password@]host:port[/db] or rediss:// (TLS). Exactly one of the two. */
  redisUrl?: string;
  /** `cluster_redis_sentinel*`: the primary (database 0) is found through Sentinel. */
  sentinel?: ClusterSentinelOptions;
  /**
   * `cluster_redis_cluster true`: the URL names a node of a Redis Cluster; the nodes use ioredis' Cluster client
   * and every key carries one hash tag (keyPrefix is then `{prefix}`), so all of them live in one slot.
   */
  redisCluster?: boolean;
  /** `cluster_redis_wait_replicas`: acknowledgements wait until that many replicas have the turn's writes. */
  wait?: ClusterWaitOptions;
  /** `cluster_redis_username` / `cluster_redis_password`: override the URL's (keep secrets out of URLs). */
  username?: string;
  password?: string;
  /** `cluster_redis_tls` (or a rediss:// URL) with its files; undefined = plain TCP. */
  tls?: ClusterTlsOptions;
  /** `cluster_node_id`; undefined = `<hostname>-<first listener port>` (stable across restarts). */
  nodeId?: string;
  /** `cluster_key_prefix`, default `culex:`: every key and channel starts with it (several clusters, one Redis). */
  keyPrefix: string;
  /** `cluster_heartbeat_interval`, ms (default 1000). */
  heartbeatInterval: number;
  /** `cluster_node_timeout`, ms (default 5000): a node whose last heartbeat is older is dead. */
  nodeTimeout: number;
  /** `cluster_queue_limit`: cross-node messages buffered while Redis is unreachable (default 100000). */
  queueLimit: number;
  /** `cluster_queue_bytes`: the same buffer's payload bytes (default 64 MiB). */
  queueBytes: number;
  /**
   * `cluster_inbox_maxlen`: the entries a node's inbox stream may hold before the other nodes stop reading the
   * publishers of QoS 1/2 messages for it (and drop QoS 0 copies): inbox-bound.ts. Default 100000.
   */
  inboxMaxLen: number;
  /** Set in the workers of `workers N` (src/cli/workers.ts): the direct links between them (worker-links.ts). */
  workerLinks?: WorkerLinkOptions;
}

export const DEFAULT_CLUSTER_OPTIONS: Omit<ClusterOptions, 'redisUrl'> = {
  keyPrefix: 'culex:',
  heartbeatInterval: 1000,
  nodeTimeout: 5000,
  queueLimit: 100_000,
  queueBytes: 64 * 1024 * 1024,
  inboxMaxLen: 100_000,
};
