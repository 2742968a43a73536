// A node restarting with its node id must not read back its sessions while a survivor is adopting them (both
// would then hold them: the id is the same, so ownership cannot tell the two apart). Before its store reads
// anything it waits out a reaping in progress (or one due: its last beat is stale), then beats (membership's
// sorted set, as the node link will) so that it is not taken for dead until the node link runs.

import type { RedisClient } from '../persistence/redis-client.js';
import { RedisKeys } from '../persistence/redis-keys.js';
import { ClusterKeys } from './cluster-keys.js';
import type { ClusterOptions } from './cluster-options.js';

/** Refreshes this node's score only if it is a member already (XX): never re-adds a reaped node. */
const TOUCH = `
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'XX', t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])
return 0`;

const LOOK = `
local t = redis.call('TIME')
return {t[1] * 1000 + math.floor(t[2] / 1000), redis.call('ZSCORE', KEYS[1], ARGV[1]) or false, redis.call('EXISTS', KEYS[2])}`;

const POLL_MS = 100;
/** An adoption's drains: the first, and the last one 1.5 s later (adoption.ts), with room to spare. */
const ADOPTION_MS = 3000;

/** Resolves when no survivor is (or is about to be) adopting `nodeId`'s sessions. */
export async function waitOutReaper(
  redis: RedisClient,
  options: ClusterOptions,
  nodeId: string,
): Promise<void> {
  const keys = new ClusterKeys(options.keyPrefix);
  // Alone (nobody will reap): a stale beat is not waited on for longer than this.
  const end = Date.now() + 2 * options.nodeTimeout + options.heartbeatInterval;
  for (;;) {
    const [now, score, lock] = (await redis.eval(LOOK, 2, keys.nodes, keys.reaper(nodeId), nodeId)) as [
      number,
      string | null,
      number,
    ];
    if (score === null || score === undefined || (score as unknown) === false) return;
    const fresh = now - Number(score) <= options.nodeTimeout / 2;
    if (lock === 0 && (fresh || Date.now() > end)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Resolves when no adopted session is owed messages from `nodeId`'s inbox any more (the `adopted` hash names
 * the node whose inbox its adopter still drains, until the adopter's last drain): the restarted node reads its
 * inbox from the start and would take those for its own. Bounded: an adopter chain that keeps dying is not
 * waited on for ever.
 */
export async function waitOutAdopters(
  redis: RedisClient,
  options: ClusterOptions,
  nodeId: string,
): Promise<void> {
  const key = new RedisKeys(options.keyPrefix).adopted;
  const end = Date.now() + 2 * options.nodeTimeout + ADOPTION_MS;
  while (Date.now() < end && (await redis.hvals(key)).includes(nodeId))
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}

/** True while a survivor holds the reaper lock of `nodeId` and has not removed it from the members yet. */
export async function beingReaped(
  redis: RedisClient,
  options: ClusterOptions,
  nodeId: string,
): Promise<boolean> {
  const keys = new ClusterKeys(options.keyPrefix);
  const [, score, lock] = (await redis.eval(LOOK, 2, keys.nodes, keys.reaper(nodeId), nodeId)) as [
    number,
    string | null,
    number,
  ];
  return lock === 1 && score !== null && (score as unknown) !== false;
}

/** Keeps this node's beat fresh until the node link beats; returns what stops it. */
export function keepBeating(redis: RedisClient, options: ClusterOptions, nodeId: string): () => void {
  const keys = new ClusterKeys(options.keyPrefix);
  const touch = (): void => {
    redis.eval(TOUCH, 1, keys.nodes, nodeId).catch(() => {});
  };
  touch();
  const timer = setInterval(touch, options.heartbeatInterval);
  timer.unref();
  return () => clearInterval(timer);
}
