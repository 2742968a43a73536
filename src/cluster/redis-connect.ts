// Connections to the Redis server the cluster shares. ioredis is imported only when a cluster starts (a single
// node never loads it). Every connection reconnects by itself with a capped exponential backoff; the node's main
// connection logs the loss and the return of Redis once each.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { ClusterOptions as IoClusterOptions, RedisOptions } from 'ioredis';
import type { Logger } from '../broker/logger.js';
import type { RedisClient } from '../persistence/redis-client.js';
import type { ClusterOptions } from './cluster-options.js';
import { tlsFailure } from './tls-probe.js';

export type { ChainableCommander, Redis } from 'ioredis';
export type { RedisClient } from '../persistence/redis-client.js';

/** The options Culex sets (ioredis' reply mapping stays its default). */
export type ConnectOptions = Omit<RedisOptions, 'replyMapping'>;

/** Reconnection delays: 50 ms doubling up to 2 s (Redis restarts are usually short; a node must not hammer it). */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000);
}

/** ioredis options for one connection of this node; `role` names it in CLIENT LIST (culex:<node>:<role>). */
export function redisOptions(options: ClusterOptions, name: string): ConnectOptions {
  const result: ConnectOptions = {
    connectionName: name,
    lazyConnect: true,
    retryStrategy: reconnectDelay,
    // Commands are not queued without bound while Redis is away: callers check `ready` and buffer themselves.
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    // RESP2 replies: the same shapes from Redis 6 and 7, Sentinel and Redis Cluster.
    protocol: 2,
    // A server that turned replica under us (a failover's old primary coming back) refuses writes: reconnect
    // (through Sentinel, to the new primary) and send the command again.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
  let host = '';
  let username = options.username ?? '';
  let password = options.password ?? '';
  if (options.sentinel !== undefined) {
    const s = options.sentinel;
    result.sentinels = s.sentinels.map((a) => ({ host: a.host, port: a.port }));
    result.name = s.master;
    result.role = 'master';
    // The Sentinels are asked again on every reconnection (a failover moves the primary); the same backoff.
    result.sentinelRetryStrategy = reconnectDelay;
    // No `failoverDetector`: its +switch-master disconnect, arriving while a connection is being re-established,
    // ends that connection for good (ioredis 6). Sentinel itself kills the clients of a primary it demotes
    // (CLIENT KILL TYPE normal / pubsub), and a READONLY reply reconnects (above).
    if (s.username !== undefined) result.sentinelUsername = s.username;
    if (s.password !== undefined) result.sentinelPassword = s.password;
    host = s.sentinels[0]?.host ?? '';
  } else {
    const url = new URL(options.redisUrl ?? '');
    const db = url.pathname.replace(/^\//, '');
    host = url.hostname.replace(/^\[|\]$/g, '');
    result.host = host;
    result.port = url.port === '' ? 6379 : Number(url.port);
    result.db = db === '' ? 0 : Number(db);
    username = options.username ?? decodeURIComponent(url.username);
    password = options.password ?? decodeURIComponent(url.password);
  }
  if (username !== '') result.username = username;
  if (password !== '') result.password = password;
  if (options.tls !== undefined) {
    result.tls = tlsOptions(options, host);
    // With Sentinel, the Sentinels are reached with the same TLS settings as the Redis servers.
    if (options.sentinel !== undefined) {
      result.enableTLSForSentinelMode = true;
      result.sentinelTLS = result.tls;
    }
  }
  return result;
}

/**
 * ioredis Cluster options for `cluster_redis_cluster`: the URL's node seeds the slot table, every node is reached
 * with the same credentials, TLS and timeouts, and the cluster reconnects with the same backoff.
 */
export function redisClusterOptions(settings: ConnectOptions): Omit<IoClusterOptions, 'redisOptions'> & {
  redisOptions: Omit<ConnectOptions, 'host' | 'port' | 'db' | 'retryStrategy' | 'lazyConnect'>;
} {
  const { host: _host, port: _port, db: _db, retryStrategy, lazyConnect, ...perNode } = settings;
  return {
    lazyConnect: lazyConnect ?? true,
    clusterRetryStrategy: retryStrategy ?? reconnectDelay,
    redisOptions: perNode,
  };
}

/** Where the cluster's Redis is, for log lines (never a password). */
export function describeRedis(options: ClusterOptions): string {
  const s = options.sentinel;
  if (s === undefined)
    return `${options.redisCluster === true ? 'Redis Cluster ' : ''}${safeUrl(options.redisUrl ?? '')}`;
  const list = s.sentinels.map((a) =>
    a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`,
  );
  return `Sentinel master "${s.master}" (${list.join(', ')})`;
}

function tlsOptions(options: ClusterOptions, host: string): ConnectionOptions {
  const files = options.tls ?? {};
  // SNI takes host names only (RFC 6066); an address is still checked against the certificate's IP entries.
  const tls: ConnectionOptions = isIP(host) === 0 ? { servername: host } : {};
  if (files.cafile !== undefined) tls.ca = readFileSync(files.cafile);
  if (files.certfile !== undefined) tls.cert = readFileSync(files.certfile);
  if (files.keyfile !== undefined) tls.key = readFileSync(files.keyfile);
  return tls;
}

/** Opens one connection and waits until it is ready; rejects (and closes it) when Redis cannot be reached. */
export async function connectRedis(
  options: ClusterOptions,
  name: string,
  extra: Partial<ConnectOptions> = {},
): Promise<RedisClient> {
  const { Cluster, Redis } = await import('ioredis');
  const settings = { ...redisOptions(options, name), ...extra };
  // At start, Sentinels that cannot name the primary refuse the start (as an unreachable Redis does); later,
  // they are asked again with the usual backoff.
  let started = false;
  if (settings.sentinels !== undefined)
    settings.sentinelRetryStrategy = (attempt) => (started ? reconnectDelay(attempt) : null);
  const client: RedisClient =
    options.redisCluster === true
      ? new Cluster(
          [{ host: settings.host ?? '', port: settings.port ?? 6379 }],
          redisClusterOptions(settings),
        )
      : new Redis(settings);
  // Errors are reported through the connection events (watchRedis); an unhandled 'error' would end the process.
  let first: string | undefined;
  const onError = (err: Error): void => {
    first ??= err.message;
  };
  client.on('error', onError);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    let reason = first ?? (err instanceof Error ? err.message : String(err));
    const sentinel = settings.sentinels?.[0];
    if (sentinel !== undefined && settings.sentinelTLS !== undefined) {
      const why = await tlsFailure(sentinel.host ?? '', sentinel.port ?? 26379, settings.sentinelTLS);
      if (why !== undefined) reason += ` (TLS to Sentinel ${sentinel.host}:${sentinel.port}: ${why})`;
    }
    throw new Error(`Cluster: cannot connect to Redis at ${describeRedis(options)}: ${reason}`);
  }
  started = true;
  client.off('error', onError);
  client.on('error', () => {});
  const refusal = unsupportedMode(await client.info('server').catch(() => ''), options.redisCluster === true);
  if (refusal !== undefined) {
    client.disconnect();
    throw new Error(`Cluster: Redis at ${describeRedis(options)} ${refusal}`);
  }
  return client;
}

/** Why a server Culex reached cannot hold a cluster (INFO server's `redis_mode`), or undefined when it can. */
function unsupportedMode(info: string, clusterClient: boolean): string | undefined {
  const mode = /^redis_mode:(\w+)/m.exec(info)?.[1];
  if (mode === 'cluster' && !clusterClient)
    // The keys need one hash tag, chosen before any is written: the option, not a guess at connection time.
    return 'is a Redis Cluster node: set "cluster_redis_cluster true" (every Culex key then goes under one hash tag, in one slot, because the writes of each event-loop turn go in one MULTI, which Redis Cluster allows only within one hash slot).';
  if (mode === 'sentinel')
    return 'is a Sentinel, not a Redis server: give Sentinels with "cluster_redis_sentinel host:port" and "cluster_redis_sentinel_master NAME" instead of "cluster_redis_url".';
  return undefined;
}

/** The URL without its password, for log lines. */
export function safeUrl(text: string): string {
  const url = new URL(text);
  if (url.password !== '') url.password = '***';
  return url.toString();
}

export interface RedisWatch {
  /** False from the loss of the connection until it is ready again. */
  readonly up: boolean;
}

/**
 * Logs "Cluster: Redis connection lost (reason); retrying." once per outage and "Cluster: Redis connection
 * restored." when it is back, and calls `down` / `up` at those moments.
 */
export function watchRedis(
  client: RedisClient,
  logger: Logger,
  hooks: { down(): void; up(): void },
): RedisWatch {
  const state = { up: true };
  let lastError = 'connection closed';
  client.on('error', (err: Error) => {
    lastError = err.message;
  });
  client.on('close', () => {
    if (!state.up) return;
    state.up = false;
    logger.log('warning', `Cluster: Redis connection lost (${lastError}); retrying.`);
    lastError = 'connection closed';
    hooks.down();
  });
  client.on('ready', () => {
    if (state.up) return;
    state.up = true;
    logger.log('notice', 'Cluster: Redis connection restored.');
    hooks.up();
  });
  return state;
}
