// Who holds which client id in a cluster: the `owner` hash (client id -> node) and each node's set, moved by
// compare-and-set so that a session changes hands once (a takeover, an adoption by one reaper).

import type { ChainableCommander, RedisClient } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';
import { ADOPT, DISOWN, TRANSFER } from './redis-scripts.js';

export class RedisOwners {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    /** The store's MULTI of this turn (`holdsOutput`: must be durable before the turn's output). */
    private readonly turn: (holdsOutput: boolean) => ChainableCommander,
  ) {}

  /** Client ids of the sessions `nodeId` owns (its set, checked against the owner hash). */
  async ownedBy(nodeId: string): Promise<string[]> {
    const ids = await this.redis.smembers(this.keys.nodeSessions(nodeId));
    if (ids.length === 0) return [];
    const owners = await this.redis.hmget(this.keys.owner, ...ids);
    return ids.filter((_, i) => owners[i] === nodeId);
  }

  /** Takes a client id for this node if `from` ('' = nobody) still owns it; true when taken. */
  async claim(clientId: string, from: string): Promise<boolean> {
    const k = this.keys;
    const args = [k.owner, k.nodeSessions(from), k.nodeSessions(this.nodeId), clientId, from, this.nodeId];
    return (await this.redis.eval(TRANSFER, 3, ...args)) === 1;
  }

  /** Adoption: takes a client id from dead node `from` if it still owns it, noting whose inbox to drain. */
  async adopt(clientId: string, from: string): Promise<boolean> {
    const k = this.keys;
    const args = [
      k.owner,
      k.nodeSessions(from),
      k.nodeSessions(this.nodeId),
      k.adopted,
      clientId,
      from,
      this.nodeId,
    ];
    return (await this.redis.eval(ADOPT, 4, ...args)) === 1;
  }

  /** Hands a client id this node owns to `to`, in this turn's MULTI. */
  transfer(clientId: string, to: string): void {
    const k = this.keys;
    const args = [k.owner, k.nodeSessions(this.nodeId), k.nodeSessions(to), clientId, this.nodeId, to];
    this.turn(true).eval(TRANSFER, 3, ...args);
  }

  /** A client id this node owned without a stored session (a clean session ended) is free again. */
  disown(clientId: string): void {
    const p = this.turn(false);
    p.eval(DISOWN, 1, this.keys.owner, clientId, this.nodeId);
    p.srem(this.keys.nodeSessions(this.nodeId), clientId);
  }
}
