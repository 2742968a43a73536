// Culex-only `cluster_*` options (issue 14): Redis connection (URL, credentials, TLS), node identity, key prefix,
// heartbeat and dead-node timing, and the bounds of what a node buffers while Redis is away. Refused with the
// file, line and reason when wrong, like every other option.

import { type ClusterOptions, DEFAULT_CLUSTER_OPTIONS } from '../cluster/cluster-options.js';
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
}

function clusterDraft(draft: ConfigDraft): ClusterDraft {
  draft.cluster ??= { options: {}, first: { ...draft.site } };
  return draft.cluster;
}

function clusterOption(apply: (c: ClusterDraft, value: string, draft: ConfigDraft) => void): OptionSpec {
  return one('cluster', (draft, value) => apply(clusterDraft(draft), value, draft));
}

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
  cluster_redis_tls: clusterOption((c, v) => (c.tlsOn = parseBool(v))),
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
  if (redisUrl === undefined)
    refuse(c.first, 'cluster options need "cluster_redis_url" (the Redis server the nodes share)');
  const options: ClusterOptions = { ...DEFAULT_CLUSTER_OPTIONS, ...rest, redisUrl };
  if (options.nodeTimeout < 2 * options.heartbeatInterval)
    refuse(
      c.timeoutSite ?? c.first,
      `the node timeout (${options.nodeTimeout}ms) must be at least twice the heartbeat interval (${options.heartbeatInterval}ms)`,
    );
  const tls = options.tls;
  if (tls !== undefined && (tls.certfile === undefined) !== (tls.keyfile === undefined))
    refuse(c.first, '"cluster_redis_certfile" and "cluster_redis_keyfile" go together');
  const secureUrl = redisUrl.startsWith('rediss:');
  if (c.tlsOn === false && secureUrl)
    refuse(c.first, 'a rediss:// URL needs TLS ("cluster_redis_tls false")');
  const tlsOn = c.tlsOn ?? (secureUrl || tls !== undefined);
  if (tlsOn) options.tls = { ...options.tls };
  else delete options.tls;
  return options;
}
