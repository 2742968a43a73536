// Culex-only `cluster_*` options (issue 14): Redis connection (URL, credentials, TLS), node identity, key prefix,
// heartbeat and dead-node timing, and the bounds of what a node buffers while Redis is away. Refused with the
// file, line and reason when wrong, like every other option.

import {
  type ClusterOptions,
  type ClusterSentinelOptions,
  DEFAULT_CLUSTER_OPTIONS,
  type SentinelAddress,
} from '../cluster/cluster-options.js';
import { ConfigError, ConfigErrorCode, OptionValueError } from './config-error.js';
import type { ConfigDraft, OptionSite } from './draft.js';
import { type OptionSpec, one } from './option-spec.js';
import { parseBool, parseInteger } from './values.js';

/** What the cluster lines set so far, with the first one's site to blame when the set is incomplete. */
export interface ClusterDraft {
  options: Partial<ClusterOptions>;
  tlsOn?: boolean;
  first: OptionSite;
  /** Sites of the timing options, for the cross-check. */
  timeoutSite?: OptionSite;
  /** Sentinel lines and settings so far (`cluster_redis_sentinel*`), checked together at the end. */
  sentinel: Partial<ClusterSentinelOptions> & { sentinels: SentinelAddress[] };
  /** `cluster_redis_wait_replicas` / `_timeout` as read. */
  waitReplicas?: number;
  waitTimeout?: number;
  /** The first line of each cluster option, to blame it when options do not go together. */
  sites: Map<string, OptionSite>;
}

function clusterDraft(draft: ConfigDraft): ClusterDraft {
  draft.cluster ??= { options: {}, first: { ...draft.site }, sentinel: { sentinels: [] }, sites: new Map() };
  const c = draft.cluster;
  if (!c.sites.has(draft.site.option)) c.sites.set(draft.site.option, { ...draft.site });
  return c;
}

function clusterOption(apply: (c: ClusterDraft, value: string, draft: ConfigDraft) => void): OptionSpec {
  return one('cluster', (draft, value) => apply(clusterDraft(draft), value, draft));
}

/** Bound on `cluster_redis_sentinel` addresses (ioredis asks them in turn at every reconnection). */
const MAX_SENTINELS = 16;

/** `host:port`, `[v6]:port`, or several of them separated by commas. */
function parseSentinels(text: string): SentinelAddress[] {
  const out: SentinelAddress[] = [];
  for (const part of text.split(',')) {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(part.trim());
    const port = Number(match?.[3]);
    if (match === null || !(port >= 1 && port <= 65535))
      throw new OptionValueError(
        `"${part}" is not a Sentinel address (expected host:port, e.g. 127.0.0.1:26379)`,
      );
    out.push({ host: match[1] ?? match[2] ?? '', port });
  }
  return out;
}

/** A Sentinel master name as Sentinel accepts it in `sentinel monitor` (no spaces). */
const MASTER_NAME = /^[!-~]{1,128}$/;

/** `500ms`, `2s`, or a bare number of seconds (as Mosquitto's intervals are written). */
export function parseMilliseconds(text: string, min: number, max: number): number {
  const match = /^(\d+)(ms|s)?$/.exec(text);
  if (match === null || match[1] === undefined)
    throw new OptionValueError(`expected a duration such as 1s or 500ms, got "${text}"`);
  const ms = match[2] === 'ms' ? Number(match[1]) : Number(match[1]) * 1000;
  if (!Number.isSafeInteger(ms) || ms < min || ms > max)
    throw new OptionValueError(`${text} is out of range (${min}ms..${max / 1000}s)`);
  return ms;
}

function parseRedisUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OptionValueError(`"${text}" is not a URL (expected redis://host:port or rediss://host:port)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new OptionValueError(`expected a redis:// or rediss:// URL, got "${url.protocol}"`);
  if (url.hostname === '') throw new OptionValueError('the URL names no host');
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw new OptionValueError(`"${db}" is not a database number`);
  return text;
}

const NODE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const KEY_PREFIX = /^[!-~]{1,64}$/;

export const clusterOptions: Record<string, OptionSpec> = {
  cluster_redis_url: clusterOption((c, v) => (c.options.redisUrl = parseRedisUrl(v))),
  cluster_redis_username: clusterOption((c, v) => (c.options.username = v)),
  cluster_redis_password: clusterOption((c, v) => (c.options.password = v)),
  cluster_redis_sentinel: clusterOption((c, v) => {
    c.sentinel.sentinels.push(...parseSentinels(v));
    if (c.sentinel.sentinels.length > MAX_SENTINELS)
      throw new OptionValueError(`at most ${MAX_SENTINELS} Sentinels`);
  }),
  cluster_redis_sentinel_master: clusterOption((c, v) => {
    if (!MASTER_NAME.test(v))
      throw new OptionValueError('a master name is 1 to 128 printable characters, no spaces');
    c.sentinel.master = v;
  }),
  cluster_redis_sentinel_username: clusterOption((c, v) => (c.sentinel.username = v)),
  cluster_redis_sentinel_password: clusterOption((c, v) => (c.sentinel.password = v)),
  cluster_redis_wait_replicas: clusterOption((c, v) => (c.waitReplicas = parseInteger(v, 0, 100))),
  cluster_redis_wait_timeout: clusterOption((c, v) => (c.waitTimeout = parseMilliseconds(v, 10, 60_000))),
  cluster_redis_tls: clusterOption((c, v) => (c.tlsOn = parseBool(v))),
  cluster_redis_cluster: clusterOption((c, v) => (c.options.redisCluster = parseBool(v))),
  cluster_redis_cafile: clusterOption((c, v) => (c.options.tls = { ...c.options.tls, cafile: v })),
  cluster_redis_certfile: clusterOption((c, v) => (c.options.tls = { ...c.options.tls, certfile: v })),
  cluster_redis_keyfile: clusterOption((c, v) => (c.options.tls = { ...c.options.tls, keyfile: v })),
  cluster_node_id: clusterOption((c, v) => {
    if (!NODE_ID.test(v))
      throw new OptionValueError('a node id is 1 to 64 of the characters A-Z a-z 0-9 . _ : -');
    c.options.nodeId = v;
  }),
  cluster_key_prefix: clusterOption((c, v) => {
    if (!KEY_PREFIX.test(v))
      throw new OptionValueError('a key prefix is 1 to 64 printable characters, no spaces');
    c.options.keyPrefix = v;
  }),
  cluster_heartbeat_interval: clusterOption((c, v) => {
    c.options.heartbeatInterval = parseMilliseconds(v, 50, 60_000);
  }),
  cluster_node_timeout: clusterOption((c, v, d) => {
    c.options.nodeTimeout = parseMilliseconds(v, 150, 600_000);
    c.timeoutSite = { ...d.site };
  }),
  cluster_queue_limit: clusterOption((c, v) => (c.options.queueLimit = parseInteger(v, 0, 10_000_000))),
  cluster_queue_bytes: clusterOption((c, v) => (c.options.queueBytes = parseInteger(v, 0, 2 ** 40))),
  cluster_inbox_maxlen: clusterOption((c, v) => (c.options.inboxMaxLen = parseInteger(v, 100, 100_000_000))),
};

function refuse(site: OptionSite, reason: string): never {
  throw new ConfigError({
    code: ConfigErrorCode.invalidValue,
    file: site.file,
    line: site.line,
    option: site.option,
    reason,
  });
}

/** The cluster options once every line is read; undefined when the file has none (single node). */
export function finishCluster(c: ClusterDraft | undefined): ClusterOptions | undefined {
  if (c === undefined) return undefined;
  const { redisUrl, ...rest } = c.options;
  const sentinel = finishSentinel(c, redisUrl);
  if (redisUrl === undefined && sentinel === undefined)
    refuse(
      c.first,
      'cluster options need "cluster_redis_url" (the Redis server the nodes share) or "cluster_redis_sentinel"',
    );
  const options: ClusterOptions = { ...DEFAULT_CLUSTER_OPTIONS, ...rest };
  if (redisUrl !== undefined) options.redisUrl = redisUrl;
  if (sentinel !== undefined) options.sentinel = sentinel;
  if (c.waitReplicas !== undefined && c.waitReplicas > 0)
    options.wait = { replicas: c.waitReplicas, timeoutMs: c.waitTimeout ?? 1000 };
  else if (c.waitTimeout !== undefined)
    refuse(
      c.sites.get('cluster_redis_wait_timeout') ?? c.first,
      '"cluster_redis_wait_timeout" needs "cluster_redis_wait_replicas" (1 or more)',
    );
  if (options.nodeTimeout < 2 * options.heartbeatInterval)
    refuse(
      c.timeoutSite ?? c.first,
      `the node timeout (${options.nodeTimeout}ms) must be at least twice the heartbeat interval (${options.heartbeatInterval}ms)`,
    );
  if (options.redisCluster === true) {
    if (redisUrl === undefined)
      refuse(c.first, '"cluster_redis_cluster" needs "cluster_redis_url" (a node of the Redis Cluster)');
    if (!/^\/?0?$/.test(new URL(redisUrl).pathname))
      refuse(c.first, 'a Redis Cluster has database 0 only ("cluster_redis_cluster" with a /db URL)');
    options.keyPrefix = hashTagged(options.keyPrefix);
    if (options.wait !== undefined) options.wait.slotKey = `${options.keyPrefix}nodes`;
  }
  const tls = options.tls;
  if (tls !== undefined && (tls.certfile === undefined) !== (tls.keyfile === undefined))
    refuse(c.first, '"cluster_redis_certfile" and "cluster_redis_keyfile" go together');
  const secureUrl = redisUrl?.startsWith('rediss:') ?? false;
  if (c.tlsOn === false && secureUrl)
    refuse(c.first, 'a rediss:// URL needs TLS ("cluster_redis_tls false")');
  const tlsOn = c.tlsOn ?? (secureUrl || tls !== undefined);
  if (tlsOn) options.tls = { ...options.tls };
  else delete options.tls;
  return options;
}

/** The Sentinel settings, whole and consistent, or undefined when there are none. */
/**
 * A prefix whose keys all hash to one Redis Cluster slot: `culex:` -> `{culex:}` (a prefix with its own
 * `{tag}` is kept). Each turn's MULTI and every Lua script touch many keys, which Redis Cluster allows in one slot only.
 */
export function hashTagged(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

function finishSentinel(c: ClusterDraft, redisUrl: string | undefined): ClusterSentinelOptions | undefined {
  const s = c.sentinel;
  const site = (option: string): OptionSite => c.sites.get(option) ?? c.first;
  if (s.sentinels.length === 0) {
    for (const option of [
      'cluster_redis_sentinel_master',
      'cluster_redis_sentinel_username',
      'cluster_redis_sentinel_password',
    ])
      if (c.sites.has(option)) refuse(site(option), `"${option}" needs "cluster_redis_sentinel" lines`);
    return undefined;
  }
  if (redisUrl !== undefined)
    refuse(
      site('cluster_redis_url'),
      '"cluster_redis_url" and "cluster_redis_sentinel" are alternatives: with Sentinel the nodes ask the Sentinels where the primary is (give its password with "cluster_redis_password")',
    );
  if (s.master === undefined)
    refuse(
      site('cluster_redis_sentinel'),
      'Sentinel needs "cluster_redis_sentinel_master" (the name in the Sentinels\' "sentinel monitor" line)',
    );
  const out: ClusterSentinelOptions = { sentinels: s.sentinels, master: s.master };
  if (s.username !== undefined) out.username = s.username;
  if (s.password !== undefined) out.password = s.password;
  return out;
}
