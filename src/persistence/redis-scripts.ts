// The Lua scripts of the Redis store: each runs atomically inside the turn's MULTI or on its own.

/** Releases one reference to a message; the message goes with its last one. */
export const UNREF =
  "if redis.call('HINCRBY', KEYS[1], 'r', -1) <= 0 then redis.call('DEL', KEYS[1]) end return 0";
/** Removes an ownership entry only if it is still ours (another node may have taken the session since). */
export const DISOWN =
  "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

/**
 * Moves a client id from one owner to another if `from` still owns it ('' = nobody): the owner hash and both
 * nodes' session sets. Returns 1 when moved.
 */
export const TRANSFER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[2] ~= '' then redis.call('SREM', KEYS[2], ARGV[1]) end
redis.call('SADD', KEYS[3], ARGV[1])
return 1`;

/**
 * TRANSFER from a dead node, remembering (if not yet) which dead node's inbox still holds messages for the
 * session: a reaper that dies mid-adoption leaves that for the next one.
 */
export const ADOPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSETNX', KEYS[4], ARGV[1], ARGV[2])
return 1`;
