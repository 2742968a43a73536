// The cluster's route table: per node a Redis hash `routes:<node>` (filter, or `$share/<group>/<filter>`, ->
// count of local subscriptions), kept current on every node by the `routes` pub/sub channel, and cached on each
// node (route-cache.ts) so that a publisher finds the nodes that want a topic without asking Redis.
// Channel messages (fields joined by NUL, which MQTT strings never contain [MQTT-1.5.4-2]):
//   <node> d <count> <key> [<count> <key>...] <seq>   changes (count 0 = gone)
//   <node> r <count> <key> ... <seq>                   the node's whole table (start, after an outage)
//   <node> x                                           the node is gone (its reaper removed its table)
// <seq> (an odd field after the pairs, which older nodes skip) is answered on `routes-ack:<node>` with
// "<answering node> NUL <seq>" once applied (route-confirm.ts).

import type { RouteListener } from '../broker/cluster-hook.js';
import type { CommitParticipant } from '../broker/group-commit.js';
import type { Logger } from '../broker/logger.js';
import type { SessionRegistry } from '../broker/session-registry.js';
import type { SubscriptionEntry } from '../broker/subscription.js';
import { waitForReplicas } from '../persistence/redis-wait.js';
import type { NodeLink } from './node-link.js';
import { RouteCache, SHARE_PREFIX } from './route-cache.js';
import { RouteConfirmations } from './route-confirm.js';

const SEP = '\0';

/** The route-table key of one subscription. */
export function routeKey(entry: SubscriptionEntry): string {
  return entry.shareGroup === undefined
    ? entry.matchFilter
    : `${SHARE_PREFIX}${entry.shareGroup}/${entry.matchFilter}`;
}

export class RouteTable implements RouteListener, CommitParticipant {
  readonly cache = new RouteCache();
  readonly confirmations: RouteConfirmations;
  /** A route new to this node waits to be written: the turn's output (its SUBACK) waits with it. */
  private holding = false;
  /** Schedules the core's group commit (set by joinCommits); until then a turn's changes flush on their own. */
  private scheduleCommit: (() => void) | undefined;
  /** This node's routes: key -> local subscriptions. */
  private readonly local = new Map<string, number>();
  /** Keys changed since the last write to Redis. */
  private dirty = new Set<string>();
  private scheduled = false;
  /** A full write of the local table is owed (start, Redis back, this node rejoined). */
  private resyncOwed = false;
  /** While the others' tables load, channel messages wait here (they are newer than what is read). */
  private buffered: string[] | undefined;

  constructor(
    private readonly link: NodeLink,
    private readonly logger: Logger,
  ) {
    const answer = (to: string, seq: number): void => {
      link.redis
        .publish(link.keys.routesAck(to), [link.nodeId, String(seq)].join(SEP))
        .catch(() => undefined); // Redis away: the announcer's bound lets its SUBACK go
    };
    this.confirmations = new RouteConfirmations(link.options.heartbeatInterval, answer, logger);
  }

  /** Counts the subscriptions that exist before the cluster starts. */
  seed(sessions: SessionRegistry): void {
    for (const session of sessions.values())
      for (const entry of session.subscriptions.values()) this.change(routeKey(entry), 1);
    this.dirty.clear();
    this.resyncOwed = true;
  }

  added(entry: SubscriptionEntry): void {
    this.change(routeKey(entry), 1);
  }

  removed(entry: SubscriptionEntry): void {
    this.change(routeKey(entry), -1);
  }

  /**
   * Joins the core's group commit: a SUBACK for a filter this node had no route for leaves only once the route
   * is in Redis and announced, so a message published on another node after the client saw its SUBACK finds the
   * route (as on one broker, where the subscription exists once SUBACK is sent [MQTT-3.8.4-1]).
   */
  joinCommits(schedule: () => void): void {
    this.scheduleCommit = schedule;
  }

  leaveCommits(): void {
    this.scheduleCommit = undefined;
    this.holding = false;
    this.confirmations.close();
  }

  get pending(): boolean {
    return this.resyncOwed || this.dirty.size > 0;
  }

  get holdsOutput(): boolean {
    return this.holding;
  }

  commit(): Promise<void> | undefined {
    const holding = this.holding;
    this.holding = false;
    if (!this.pending) return undefined;
    // Taken before the write: a node known to answer now has subscribed before our announcement goes out.
    const targets = holding ? this.confirmations.targets(this.link.aliveNodes()) : undefined;
    const done = this.flush();
    if (targets === undefined) return done.then(nothing);
    // A SUBACK this write holds waits for the others to apply the route, and (`cluster_redis_wait_replicas`)
    // for the replicas.
    const wait = this.link.options.wait;
    return done.then((seq) =>
      Promise.all([
        seq === undefined ? undefined : this.confirmations.wait(seq, targets),
        wait === undefined ? undefined : waitForReplicas(this.link.redis, wait),
      ]).then(nothing),
    );
  }

  /** Local subscriptions of a key on this node (share group member counts for the weighted choice). */
  localCount(key: string): number {
    return this.local.get(key) ?? 0;
  }

  private change(key: string, delta: number): void {
    const count = (this.local.get(key) ?? 0) + delta;
    if (count > 0) this.local.set(key, count);
    else this.local.delete(key);
    // Ordinary filters: only presence matters to the others; share groups: the count is the weight.
    const added = count === 1 && delta > 0;
    if (key.startsWith(SHARE_PREFIX) || count === 0 || added) this.dirty.add(key);
    if (added && this.scheduleCommit !== undefined && this.link.up) this.holding = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduleCommit !== undefined) {
      this.scheduleCommit();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /**
   * One MULTI per turn: the hash and the channel message together, so that readers never see them apart.
   * Resolves with the announcement's number once written (undefined: nothing written).
   */
  async flush(): Promise<number | undefined> {
    const link = this.link;
    if (!link.up) return undefined;
    const me = link.nodeId;
    const key = link.keys.routes(me);
    const multi = link.redis.multi();
    let message: string;
    if (this.resyncOwed) {
      this.resyncOwed = false;
      this.dirty.clear();
      const parts = [me, 'r'];
      multi.del(key);
      if (this.local.size > 0) {
        const flat: string[] = [];
        for (const [k, n] of this.local) {
          flat.push(k, String(n));
          parts.push(String(n), k);
        }
        multi.hset(key, ...flat);
      }
      message = parts.join(SEP);
    } else {
      if (this.dirty.size === 0) return undefined;
      const parts = [me, 'd'];
      for (const k of this.dirty) {
        const n = this.local.get(k) ?? 0;
        if (n > 0) multi.hset(key, k, String(n));
        else multi.hdel(key, k);
        parts.push(String(n), k);
      }
      this.dirty = new Set();
      message = parts.join(SEP);
    }
    const seq = this.confirmations.next();
    multi.publish(link.keys.routesChannel, `${message}${SEP}${seq}`);
    try {
      await multi.exec();
      return seq;
    } catch (err) {
      // Redis went away meanwhile: the whole table is written again when it is back.
      this.resyncOwed = true;
      this.logger.log(
        'debug',
        `Cluster: route update not written: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  }

  /** After a Redis outage or a rejoin: write the whole table again and reload the others'. */
  async resync(): Promise<void> {
    this.resyncOwed = true;
    await this.flush();
    await this.load();
  }

  /** Reads every other node's table; channel messages arriving meanwhile are applied after it. */
  async load(): Promise<void> {
    const link = this.link;
    this.buffered = [];
    try {
      const nodes: string[] = await link.redis.zrange(link.keys.nodes, '0', '-1');
      const multi = link.redis.multi();
      const others = nodes.filter((n) => n !== link.nodeId);
      for (const n of others) multi.hgetall(link.keys.routes(n));
      const replies = (await multi.exec()) ?? [];
      const seen = new Set(others);
      others.forEach((n, i) => {
        const table = (replies[i]?.[1] ?? {}) as Record<string, string>;
        this.cache.replaceNode(n, new Map(Object.entries(table).map(([k, v]) => [k, Number(v)])));
      });
      for (const n of this.cache.nodes()) if (!seen.has(n)) this.cache.dropNode(n);
    } finally {
      const waiting = this.buffered;
      this.buffered = undefined;
      for (const m of waiting) this.apply(m);
    }
  }

  /** A message of the `routes` channel. */
  onChannelMessage(text: string): void {
    if (this.buffered !== undefined) this.buffered.push(text);
    else this.apply(text);
  }

  private apply(text: string): void {
    const parts = text.split(SEP);
    const node = parts[0]!;
    if (node === this.link.nodeId) return;
    const op = parts[1];
    if (op === 'x') {
      this.cache.dropNode(node);
      this.confirmations.forget(node);
      return;
    }
    // An odd field after the pairs is the announcement's number (absent from older nodes' messages).
    const end = parts.length % 2 === 1 ? parts.length - 1 : parts.length;
    const routes = new Map<string, number>();
    for (let i = 2; i + 1 < end; i += 2) routes.set(parts[i + 1]!, Number(parts[i]));
    if (op === 'r') this.cache.replaceNode(node, routes);
    else for (const [k, n] of routes) this.cache.set(node, k, n);
    if (end < parts.length) this.confirmations.applied(node, Number(parts[end]));
  }

  /** A message of this node's `routes-ack:<node>` channel: another node applied our routes up to a number. */
  onAck(text: string): void {
    const at = text.indexOf(SEP);
    if (at > 0) this.confirmations.confirm(text.slice(0, at), Number(text.slice(at + 1)));
  }

  /** The reaper of a dead node removes its table and tells everyone. */
  async removeNode(node: string): Promise<void> {
    this.cache.dropNode(node);
    this.confirmations.forget(node);
    const link = this.link;
    await link.redis
      .multi()
      .del(link.keys.routes(node))
      .publish(link.keys.routesChannel, [node, 'x'].join(SEP))
      .exec();
  }
}

function nothing(): void {}
