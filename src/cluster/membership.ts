// Cluster membership: every node beats (a key that expires and a score in `nodes`, both from the Redis server's
// clock, so node clocks need not agree); a node whose last beat is older than cluster_node_timeout is dead. One
// survivor, the winner of a lock, handles each dead node: it runs the reap tasks (its routes removed, its
// sessions adopted by cl-sessions), then removes it from `nodes`. Every node hears of the death once.

import type { Logger } from '../broker/logger.js';
import type { ClusterKeys } from './cluster-keys.js';
import type { RedisClient } from './redis-connect.js';

/** One beat: the node's key and score, its client count; returns [server time ms, 1 if the node was missing]. */
const BEAT_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return {now, added}
`;

export interface MembershipEvents {
  nodeUp(id: string): void;
  nodeDead(id: string, reaper: boolean): Promise<void>;
  /** This node was removed from `nodes` by others (it was thought dead) and has just beaten again. */
  rejoined(): void;
}

/** One node as this one last saw it (`lastBeat`: the Redis server's clock, ms; null once it left). */
export interface MemberState {
  node: string;
  self: boolean;
  alive: boolean;
  lastBeat: number | null;
  /** Its connected clients as of its last beat; null when unknown. */
  clients: number | null;
}

export class Membership {
  /** Alive nodes other than this one -> last beat (server ms). */
  private readonly alive = new Map<string, number>();
  /** Nodes declared dead here, until they leave `nodes` or beat again. */
  private readonly dead = new Set<string>();
  private readonly reaping = new Set<string>();
  /** No one is judged dead before this server time (after a start or a Redis outage nobody could beat). */
  private judgeFrom = Number.POSITIVE_INFINITY;
  /** When this node's last beat went through, on Redis' clock (gaps Redis saw) and on ours (gaps we saw). */
  private lastOwnBeat = 0;
  private lastOwnBeatLocal = 0;
  private joined = false;
  clientsTotal = 0;
  /** What the last beat read: every node in `nodes` -> last beat (server ms; 0 once it left), clients. */
  private lastSeen = new Map<string, number>();
  private lastCounts: Record<string, string> = {};

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    readonly nodeId: string,
    private readonly token: string,
    private readonly timing: { heartbeatInterval: number; nodeTimeout: number },
    private readonly events: MembershipEvents,
    private readonly logger: Logger,
  ) {}

  aliveNodes(): string[] {
    return [...this.alive.keys()];
  }

  isAlive(id: string): boolean {
    return id === this.nodeId || this.alive.has(id);
  }

  /** Claims the node id: refused while another live node holds it (waits out a crashed holder's key). */
  async claim(): Promise<void> {
    const key = this.keys.node(this.nodeId);
    const ttl = 3 * this.timing.heartbeatInterval;
    const end = Date.now() + ttl + this.timing.heartbeatInterval;
    for (;;) {
      const ok = await this.redis.set(key, this.token, 'PX', ttl, 'NX');
      if (ok === 'OK') return;
      if (Date.now() > end)
        throw new Error(
          `Cluster: node id "${this.nodeId}" is in use by a live node; give this node another cluster_node_id.`,
        );
      await new Promise((resolve) => setTimeout(resolve, this.timing.heartbeatInterval / 2));
    }
  }

  /** No beat of ours went through for half a node timeout: others may be taking us for dead. */
  stale(): boolean {
    return this.lastOwnBeatLocal !== 0 && Date.now() - this.lastOwnBeatLocal > this.timing.nodeTimeout / 2;
  }

  /** Redis is back after an outage: others could not beat either, so give them one timeout before judging. */
  redisRestored(): void {
    this.judgeFrom = Number.POSITIVE_INFINITY;
  }

  /** One heartbeat and one look at the others; never throws (Redis errors wait for the next beat). */
  async beat(clients: number): Promise<void> {
    const keys = this.keys;
    let reply: [[Error | null, unknown], [Error | null, unknown], [Error | null, unknown]] | null;
    try {
      reply = (await this.redis
        .multi()
        .eval(
          BEAT_SCRIPT,
          3,
          keys.nodes,
          keys.node(this.nodeId),
          keys.clients,
          this.nodeId,
          this.token,
          String(3 * this.timing.heartbeatInterval),
          String(clients),
        )
        .zrange(keys.nodes, '0', '-1', 'WITHSCORES')
        .hgetall(keys.clients)
        .exec()) as typeof reply;
    } catch {
      return;
    }
    if (reply === null) return;
    const [[e1, beat], [e2, list], [, counts]] = reply;
    if (e1 !== null || e2 !== null) return;
    const [now, added] = beat as [number, number];
    // Our own beats failing or coming late (a Redis Cluster master failing over, a stalled Redis: the client stays
    // connected, so no outage is seen) means the others could not beat either: judge no one for a timeout.
    const late = this.lastOwnBeat !== 0 && now - this.lastOwnBeat > this.timing.nodeTimeout / 2;
    if (this.judgeFrom === Number.POSITIVE_INFINITY || late || this.stale())
      this.judgeFrom = now + this.timing.nodeTimeout;
    this.lastOwnBeat = now;
    this.lastOwnBeatLocal = Date.now();
    if (added === 1 && this.joined) {
      this.logger.log(
        'warning',
        `Cluster: node ${this.nodeId} was taken for dead by the others; joining again.`,
      );
      this.events.rejoined();
    }
    this.joined = true;
    this.lastCounts = (counts as Record<string, string> | null) ?? {};
    this.clientsTotal = sumCounts(this.lastCounts);
    this.look(list as string[], now);
  }

  /** The nodes in `nodes` as of the last beat (this one first), for the admin API; nothing is read from Redis. */
  nodes(): MemberState[] {
    const rows: MemberState[] = [];
    const row = (id: string, last: number | undefined): MemberState => {
      const clients = Number(this.lastCounts[id]);
      return {
        node: id,
        self: id === this.nodeId,
        alive: this.isAlive(id),
        lastBeat: last === undefined || last <= 0 ? null : last,
        clients: Number.isFinite(clients) ? clients : null,
      };
    };
    rows.push(row(this.nodeId, this.lastSeen.get(this.nodeId)));
    for (const [id, last] of this.lastSeen) if (id !== this.nodeId) rows.push(row(id, last));
    return rows;
  }

  private look(list: string[], now: number): void {
    const seen = new Set<string>();
    const lastSeen = new Map<string, number>();
    this.lastSeen = lastSeen;
    for (let i = 0; i + 1 < list.length; i += 2) {
      const id = list[i]!;
      const last = Number(list[i + 1]);
      lastSeen.set(id, last);
      if (id === this.nodeId) continue;
      seen.add(id);
      if (now - last <= this.timing.nodeTimeout) {
        const known = this.alive.has(id);
        this.alive.set(id, last);
        if (!known) {
          this.dead.delete(id);
          this.events.nodeUp(id);
        }
        continue;
      }
      if (now < this.judgeFrom) continue;
      this.alive.delete(id);
      void this.handleDead(id);
    }
    // Removed by a reaper before this node saw it stale: it is dead here too.
    for (const id of this.alive.keys()) {
      if (seen.has(id)) continue;
      this.alive.delete(id);
      if (!this.dead.has(id)) void this.events.nodeDead(id, false);
    }
    for (const id of this.dead) {
      if (seen.has(id) || this.reaping.has(id)) continue;
      this.dead.delete(id);
      void this.events.nodeDead(id, false);
    }
  }

  /** Tries the reaper lock each beat while the node stays in `nodes` (a reaper that died lets another take over). */
  private async handleDead(id: string): Promise<void> {
    if (this.reaping.has(id)) return;
    this.dead.add(id);
    this.reaping.add(id);
    try {
      const won =
        (await this.redis.set(this.keys.reaper(id), this.nodeId, 'PX', 3 * this.timing.nodeTimeout, 'NX')) ===
        'OK';
      // Not the reaper: the node is dead here once the reaper removed it from `nodes` (look()), so that its
      // routes stay usable until its sessions' new routes exist (cl-sessions' adoption adds them first).
      if (!won) return;
      this.logger.log(
        'notice',
        `Cluster: node ${id} is dead (no heartbeat for ${this.timing.nodeTimeout} ms).`,
      );
      await this.events.nodeDead(id, true);
      // Its control stream goes too: what is left there are requests to a dead node, whose askers have given
      // up. (A restart with its id waits for this reaper first, rejoin.ts, and its XADDs make the stream anew.)
      await this.redis
        .multi()
        .zrem(this.keys.nodes, id)
        .hdel(this.keys.clients, id)
        .del(this.keys.control(id))
        .exec();
      this.dead.delete(id);
    } catch (err) {
      this.logger.log(
        'error',
        `Error: Cluster: handling dead node ${id}: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      this.reaping.delete(id);
    }
  }

  /**
   * A clean stop: the node's last beat is set in the past so that a survivor reaps it at its next beat (removes
   * its routes, adopts its persistent sessions) instead of waiting for the timeout. Its routes stay until then,
   * so messages for its offline sessions keep reaching its inbox, which the adopter reads.
   */
  async leave(): Promise<void> {
    const keys = this.keys;
    await this.redis
      .multi()
      .zadd(keys.nodes, 0, this.nodeId)
      .hdel(keys.clients, this.nodeId)
      .del(keys.node(this.nodeId))
      .exec();
  }
}

function sumCounts(counts: Record<string, string> | null): number {
  let total = 0;
  if (counts !== null) for (const v of Object.values(counts)) total += Number(v) || 0;
  return total;
}
