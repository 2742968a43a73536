// Cross-node forwarding. After local routing, a message goes to each other node whose route table matches its
// topic: ONE copy per node (flagged "for your subscriptions" and/or "for your member of share group G/F"), all
// of a turn's copies for a node in one inbox entry, all entries and retained updates of a turn in one MULTI.
// That MULTI joins the turn's group commit: acknowledgements of QoS 1/2 messages (and retained updates) that
// needed it leave only once Redis has it. While Redis is away, turns wait in a bounded queue (redis-send-queue.ts:
// cluster_queue_limit / cluster_queue_bytes); beyond it the oldest are dropped, counted, and the acknowledgements
// they held are withheld (the clients resend) — never acknowledged and lost. While a node is at its inbox bound
// (cluster_inbox_maxlen) the connections publishing QoS 1/2 messages to it are not read and its QoS 0 copies
// are dropped (inbox-bound.ts).
// Ids: every message published here gets a cluster-wide id (this node's store epoch + a sequence) before it is
// routed, carried by its copies and stored with its deliveries (adoption dedups by it); every inbox entry gets
// one too (the receiver handles an entry written twice once, node-link.ts).
// On the receiving node a message is published with origin 'cluster': routed to local subscribers only, with
// the publisher's client id as origin (No Local holds across nodes), neither counted nor retained again
// (inbound.ts).

import type { BrokerCore } from '../broker/broker-core.js';
import type { ClusterHook } from '../broker/cluster-hook.js';
import { Connection } from '../broker/connection.js';
import type { DeliveryTarget, SourceHold } from '../broker/delivery-target.js';
import type { PublishOrigin } from '../broker/diagnostics.js';
import type { CommitParticipant } from '../broker/group-commit.js';
import type { Logger } from '../broker/logger.js';
import type { Message } from '../broker/message.js';
import type { ShareGroup } from '../broker/topic-tree.js';
import { Inbound } from './inbound.js';
import { InboxBound } from './inbox-bound.js';
import { encodeMessage, encodeRecords, MAX_GROUPS, type OutRecord } from './message-codec.js';
import type { NodeLink } from './node-link.js';
import type { ChainableCommander } from './redis-connect.js';
import { type Batch, type Op, PUBLISH_KIND, RedisSendQueue } from './redis-send-queue.js';
import { NO_MATCH, type RemoteGroup } from './route-cache.js';
import type { RouteTable } from './route-table.js';
import type { WorkerLinks } from './worker-links.js';

export interface ForwarderCounters {
  /** Message copies sent to other nodes. */
  forwarded: number;
  /** Messages received from other nodes. */
  received: number;
  /** Copies dropped: the queue for an unreachable Redis was full, or QoS 0 copies for a node at its inbox bound. */
  dropped: number;
}

export class Forwarder implements ClusterHook, CommitParticipant {
  readonly counters: ForwarderCounters = { forwarded: 0, received: 0, dropped: 0 };
  private outgoing = new Map<string, OutRecord[]>();
  private retainedOut: Message[] = [];
  private turnCount = 0;
  private turnBytes = 0;
  private turnHolds = false;
  private scheduled = false;
  /** Turns written to Redis in order, and kept (bounded) while it is away. */
  private readonly sends: RedisSendQueue;
  private readonly scheduleCommit: () => void;
  /** The store's epoch (unique per node start, cluster-wide): 0 until the sessions attach (no ids then). */
  private epoch = 0;
  private seq = 0;
  /** `workers N`: QoS 0 copies for the other workers of this process tree go straight to them (worker-links.ts). */
  direct: WorkerLinks | undefined = undefined;
  /** The inbox bound of the other nodes: what waits for a node that does not keep up. */
  readonly bound: InboxBound;
  /** What comes from the other nodes (routed here only, paced by the local queues). */
  private readonly inbound: Inbound;

  constructor(
    private readonly core: BrokerCore,
    private readonly link: NodeLink,
    private readonly routes: RouteTable,
    logger: Logger,
  ) {
    this.scheduleCommit = core.addCommitParticipant(this);
    this.sends = new RedisSendQueue(link, logger, this.counters, Buffer.from(`${link.nodeId}\0`));
    this.bound = new InboxBound(core, link, logger);
    this.inbound = new Inbound(core, link, logger, this.counters);
    link.onMessage(PUBLISH_KIND, (body) => this.inbound.receive(body));
  }

  get pending(): boolean {
    return this.turnCount > 0;
  }

  get holdsOutput(): boolean {
    return this.turnHolds;
  }

  /** Copies and retained updates waiting for Redis (an outage), beyond this turn's. */
  get queued(): number {
    return this.sends.count;
  }

  /** Ids from now on are `epoch` + a sequence (ClusterSessions gives the store's). */
  useEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  stamp(message: Message): void {
    if (this.epoch === 0) return;
    message.clusterEpoch = this.epoch;
    message.clusterSeq = ++this.seq;
  }

  /** True while `message`, received from another node, is being published here. */
  isInbound(message: Message): boolean {
    return this.inbound.is(message);
  }

  shareHere(group: ShareGroup, message: Message): boolean {
    if (this.inbound.is(message)) return false;
    const remote = this.routes.cache.group(group.name, group.filter);
    if (remote === undefined) return true;
    const node = remote.pick(group.members.length);
    if (node === undefined) return true;
    this.add(node, message, false, remote, this.core.delivery.publisher);
    return false;
  }

  hasRemoteMember(group: ShareGroup): boolean {
    const remote = this.routes.cache.group(group.name, group.filter);
    if (remote === undefined) return false;
    for (const node of remote.counts.keys()) if (this.link.isAlive(node)) return true;
    return false;
  }

  handOn(group: ShareGroup, message: Message): boolean {
    const remote = this.routes.cache.group(group.name, group.filter);
    if (remote === undefined) return false;
    // Weighted round-robin over the other nodes' members, skipping a node that is dead (not reaped yet).
    for (let tries = remote.total; tries > 0; tries--) {
      const node = remote.pick(0);
      if (node === undefined) return false;
      if (!this.link.isAlive(node)) continue;
      this.add(node, message, false, remote, null);
      return true;
    }
    return false;
  }

  forward(message: Message, _origin: PublishOrigin, publisher: DeliveryTarget | null): number {
    const match = this.routes.cache.match(message.topic);
    if (match === NO_MATCH) return 0;
    const nodes = match.nodes;
    let sent = nodes.length;
    for (let i = 0; i < nodes.length; i++) this.add(nodes[i]!, message, true, undefined, publisher);
    // A direct link to another worker is backed up: the publisher waits for it (link-pressure.ts).
    const direct = this.direct;
    if (direct?.pressured && publisher instanceof Connection)
      for (let i = 0; i < nodes.length; i++) direct.hold(nodes[i]!, publisher);
    const groups = match.groups;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      // A group with members here was decided during local routing (shareHere).
      if (this.core.tree.shareGroup(g.name, g.filter) !== undefined) continue;
      const node = g.pick(0);
      if (node === undefined) continue;
      this.add(node, message, false, g, publisher);
      sent++;
    }
    return sent;
  }

  /** A retained message was set (or, with an empty payload, deleted) here: it goes to Redis and every node. */
  retain(message: Message): void {
    this.retainedOut.push(message);
    this.count(message);
  }

  private add(
    node: string,
    message: Message,
    regular: boolean,
    group: RemoteGroup | undefined,
    publisher: DeliveryTarget | null,
  ): void {
    const direct = this.direct;
    const viaLink = direct !== undefined && message.qos === 0 && direct.ready(node);
    // A node at its inbox bound: the publisher of a QoS 1/2 message for it is no longer read (inbox-bound.ts).
    if (message.qos > 0 && publisher !== null && this.bound.blocked(node)) this.bound.pause(node, publisher);
    if (viaLink) {
      const ref = group === undefined ? undefined : { name: group.name, filter: group.filter };
      if (direct.add(node, message, regular, ref)) this.counters.forwarded++;
      return;
    }
    let out = this.outgoing.get(node);
    if (out === undefined) {
      out = [];
      this.outgoing.set(node, out);
    }
    const last = out[out.length - 1];
    if (last !== undefined && last.message === message && (last.groups?.length ?? 0) < MAX_GROUPS) {
      if (regular) last.regular = true;
      if (group !== undefined) {
        const ref = { name: group.name, filter: group.filter };
        if (last.groups === undefined) last.groups = [ref];
        else last.groups.push(ref);
      }
      return;
    }
    const groups = group === undefined ? undefined : [{ name: group.name, filter: group.filter }];
    out.push({ message, regular, groups });
    this.counters.forwarded++;
    this.count(message);
  }

  private count(message: Message): void {
    this.turnCount++;
    this.turnBytes += message.payload.length;
    if (message.qos > 0) this.turnHolds = true;
    if (!this.scheduled) {
      this.scheduled = true;
      this.scheduleCommit();
    }
  }

  /** This turn's copies and retained updates as Redis operations (encoded once, here). */
  private takeTurn(): Batch {
    const ops: Op[] = [];
    let count = this.turnCount;
    let bytes = this.turnBytes;
    const epoch = this.epoch;
    for (const [to, records] of this.outgoing) {
      let out = records;
      // A node at its inbox bound gets no QoS 0 copy (its QoS 1/2 publishers are held instead: inbox-bound.ts).
      if (this.bound.blocked(to)) {
        out = records.filter((r) => r.message.qos > 0);
        const dropped = records.length - out.length;
        this.counters.dropped += dropped;
        count -= dropped;
        for (const r of records) if (r.message.qos === 0) bytes -= r.message.payload.length;
        if (out.length === 0) continue;
      }
      const id = epoch === 0 ? undefined : `${epoch}.${++this.seq}`;
      ops.push({ to, body: encodeRecords(out), id });
      this.bound.sent(to);
    }
    this.outgoing = new Map();
    for (const m of this.retainedOut)
      ops.push({ topic: m.topic, body: m.payload.length === 0 ? undefined : encodeMessage(m) });
    this.retainedOut = [];
    const batch: Batch = { ops, count, bytes, settle: undefined };
    this.turnCount = 0;
    this.turnBytes = 0;
    this.turnHolds = false;
    this.scheduled = false;
    return batch;
  }

  commit(): Promise<void> | undefined {
    const holds = this.turnHolds;
    const batch = this.takeTurn();
    let done: Promise<void> | undefined;
    if (holds)
      done = new Promise<void>((resolve, reject) => {
        batch.settle = (ok) =>
          ok
            ? resolve()
            : reject(new Error('Cluster: cross-node messages dropped while Redis is unreachable'));
      });
    this.sends.push(batch);
    void this.sends.drain();
    return done;
  }

  /**
   * For a store that writes the turn in its own MULTI (cl-sessions' RedisStore): this turn's operations go into
   * `pipeline`; the store then calls the returned function with the outcome (false: they are queued again).
   */
  writeInto(pipeline: ChainableCommander): (ok: boolean) => void {
    const batch = this.takeTurn();
    this.sends.writeOps(pipeline, batch.ops);
    return (ok) => {
      if (ok) return;
      this.sends.push(batch);
      void this.sends.drain();
    };
  }

  /** Writes what is queued for Redis (once it is back). */
  drain(): Promise<void> {
    return this.sends.drain();
  }

  /** A frame from another worker's direct link (worker-links.ts): routed here at once, as an inbox entry. */
  receive(body: Buffer, source: SourceHold | null = null): void {
    this.inbound.receiveLinked(body, source);
  }
  /** Detaches from the commit and writes what is left (bounded wait). */
  async close(timeoutMs: number): Promise<void> {
    if (this.turnCount > 0) this.commit();
    this.bound.close();
    this.inbound.detach();
    this.core.removeCommitParticipant(this);
    const end = Date.now() + timeoutMs;
    while (this.sends.busy && this.link.up && Date.now() < end) {
      await this.sends.drain();
      if (this.sends.writing) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
