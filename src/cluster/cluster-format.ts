// The version of what a cluster keeps in Redis and what its nodes send one another (session hashes, inbox and
// control entries, route tables, the message records of message-codec.ts). Nodes of one format can be restarted
// one at a time (a rolling upgrade); a node of another format would misread them, so it refuses to join and says
// why, instead of corrupting sessions (docs/cluster.md, "Upgrades").

import type { RedisClient } from '../persistence/redis-client.js';
import type { ClusterKeys } from './cluster-keys.js';

/** Bump on any change to the Redis layout or the inter-node encoding that a node of this version could not read. */
export const CLUSTER_FORMAT = 1;

/** Sets the format when the key is new (the first node of a cluster, or data from before the key existed). */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return v`;

export class ClusterFormatError extends Error {}

/** Resolves when the data under the prefix is in this node's format (claiming it when none is recorded). */
export async function checkClusterFormat(
  redis: RedisClient,
  keys: ClusterKeys,
  where: string,
): Promise<void> {
  const found = String(await redis.eval(CLAIM, 1, keys.format, String(CLUSTER_FORMAT)));
  if (found === String(CLUSTER_FORMAT)) return;
  throw new ClusterFormatError(
    `Cluster: the cluster data under "${keys.prefix}" at ${where} is in format ${JSON.stringify(found)}; this culex reads format ${CLUSTER_FORMAT} only. Stop the nodes of the other version (or give this cluster another cluster_key_prefix) before starting this one.`,
  );
}
