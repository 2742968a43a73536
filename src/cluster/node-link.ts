// The node-to-node channel of a cluster: two Redis Streams per node, each read with XREAD BLOCK on a dedicated
// connection — its inbox (one-way messages: forwarded publishes; bounded by its senders) and its control stream
// (requests with correlated replies, control-stream.ts, so that a takeover never waits behind the inbox) — plus
// the membership (heartbeats, dead nodes) and the state of the Redis connection, as events. Entry fields:
// link-requests.ts. Processed inbox entries are trimmed, so what a dead node's inbox still holds is exactly what
// it never handled (cl-sessions' adopter reads it).

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../broker/logger.js';
import { ClusterKeys } from './cluster-keys.js';
import type { ClusterOptions } from './cluster-options.js';
import { ControlStream } from './control-stream.js';
import { type EntryDecoder, InboxBarrier } from './inbox-barrier.js';
import { LinkRequests, type MessageHandler, type RequestOutcomes } from './link-requests.js';
import { type MemberState, Membership } from './membership.js';
import {
  type ChainableCommander,
  connectRedis,
  type RedisClient,
  reconnectDelay,
  watchRedis,
} from './redis-connect.js';
import { nextId, readAfter } from './stream-ids.js';

export type { MessageHandler } from './link-requests.js';
export { nextId };

/** A task the reaper of a dead node runs (and awaits) before the node is removed from `nodes`. */
export type ReapTask = (nodeId: string) => Promise<void> | void;

export interface NodeLinkEvents {
  nodeUp: [nodeId: string];
  /** Once per dead node on every survivor; `reaper` on the one that handles it (after its reap tasks ran). */
  nodeDead: [nodeId: string, reaper: boolean];
  redisDown: [];
  redisUp: [];
  /** This node had been taken for dead (removed by a reaper) and beats again: republish what it owns. */
  rejoined: [];
}

export interface NodeLinkInit {
  options: ClusterOptions;
  nodeId: string;
  logger: Logger;
  /** Connected clients here, written with each heartbeat (cluster-wide total in `clientsTotal`). */
  clientCount?: () => number;
}

const READ_COUNT = 512;
const BLOCK_MS = 5000;

export class NodeLink extends EventEmitter<NodeLinkEvents> {
  readonly nodeId: string;
  readonly keys: ClusterKeys;
  readonly options: ClusterOptions;
  private readonly requests: LinkRequests;
  private readonly control: ControlStream;
  /** Set by cl-sessions (withBarrier): what a takeover waits for in this node's inbox (inbox-barrier.ts). */
  barrier: InboxBarrier | undefined = undefined;
  private readonly reapTasks: ReapTask[] = [];
  /** Gives up what survivors adopted while this node was taken for dead (cluster-sessions.ts: fence.ts). */
  fence: (() => Promise<unknown>) | undefined = undefined;
  /** The fence run after the last rejoin; the inbox reader waits for it. */
  private fencing: Promise<unknown> | undefined = undefined;
  private readonly membership: Membership;
  private readonly watch: { readonly up: boolean };
  /**
   * Set by cl-sessions: trims handled entries inside the store's commit of the same turn, so that an entry
   * leaves the inbox only together with the deliveries it produced (else a kill between the two loses it).
   */
  trimInbox: ((key: string, minId: string) => void) | undefined = undefined;
  /** Consulted before each read of this node's inbox: a promise makes the reader wait (inbox-pacing.ts). */
  readGate: (() => Promise<void> | undefined) | undefined = undefined;
  private stopped = false;
  private beatTimer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  private constructor(
    init: NodeLinkInit,
    /** The commands connection (pipelines, MULTI); shared with the other cluster parts. */
    readonly redis: RedisClient,
    /** The connection blocked in XREAD on this node's inbox. */
    private readonly reader: RedisClient,
    /** The connection blocked in XREAD on this node's control stream. */
    controlReader: RedisClient,
    /** A pub/sub connection (route and retained changes), for the parts that subscribe. */
    readonly subscriber: RedisClient,
    private readonly clientCount: () => number,
  ) {
    super();
    this.nodeId = init.nodeId;
    this.options = init.options;
    this.keys = new ClusterKeys(init.options.keyPrefix);
    const logger = init.logger;
    this.requests = new LinkRequests(init.nodeId, (to, fields) => this.control.write(to, fields));
    this.control = new ControlStream(
      redis,
      controlReader,
      (id) => this.keys.control(id),
      init.nodeId,
      this.requests,
      () => this.beforeEntry(),
    );
    this.membership = new Membership(
      redis,
      this.keys,
      init.nodeId,
      randomBytes(8).toString('hex'),
      init.options,
      {
        nodeUp: (id) => this.emit('nodeUp', id),
        nodeDead: async (id, reaper) => {
          if (reaper) for (const task of this.reapTasks) await task(id);
          this.emit('nodeDead', id, reaper);
        },
        rejoined: () => {
          this.fencing = this.fence?.().catch(() => {});
          this.emit('rejoined');
        },
      },
      logger,
    );
    this.watch = watchRedis(redis, logger, {
      down: () => this.emit('redisDown'),
      up: () => {
        this.membership.redisRestored();
        this.emit('redisUp');
        void this.beat();
      },
    });
  }

  /** Connects to Redis, claims the node id (refused while a live node has it) and starts beating and reading. */
  static async start(init: NodeLinkInit): Promise<NodeLink> {
    const name = `culex:${init.nodeId}`;
    const connections: RedisClient[] = [];
    try {
      for (const role of ['commands', 'inbox', 'control', 'pubsub'])
        connections.push(await connectRedis(init.options, `${name}:${role}`));
      const [redis, reader, control, subscriber] = connections as RedisClient[] as [
        RedisClient,
        RedisClient,
        RedisClient,
        RedisClient,
      ];
      const link = new NodeLink(init, redis, reader, control, subscriber, init.clientCount ?? (() => 0));
      await link.membership.claim();
      await link.beat();
      link.beatTimer = setInterval(() => void link.beat(), init.options.heartbeatInterval);
      link.beatTimer.unref();
      link.reading = link.readLoop();
      link.control.start();
      return link;
    } catch (err) {
      for (const c of connections) c.disconnect();
      throw err;
    }
  }

  /** False while the commands connection to Redis is lost. */
  get up(): boolean {
    return this.watch.up && !this.stopped;
  }

  /** How this node's requests to others ended (takeovers at CONNECT), for /metrics. */
  get requestOutcomes(): Readonly<RequestOutcomes> {
    return this.requests.outcomes;
  }

  /** Connected clients on every live node, as of the last heartbeat. */
  get clientsTotal(): number {
    return this.membership.clientsTotal;
  }

  aliveNodes(): string[] {
    return this.membership.aliveNodes();
  }

  /** Every node in the membership as of the last heartbeat (this one first). */
  nodes(): MemberState[] {
    return this.membership.nodes();
  }

  isAlive(nodeId: string): boolean {
    return this.membership.isAlive(nodeId);
  }

  /** Handles entries of one kind arriving in this node's inbox (one handler per kind). */
  onMessage(kind: string, handler: MessageHandler): void {
    this.requests.on(kind, handler);
  }

  /** Makes takeovers wait for this node's inbox entries that precede them and carry `decode`d messages. */
  withBarrier(decode: EntryDecoder): InboxBarrier {
    this.barrier = new InboxBarrier(this.redis, this.keys.inbox(this.nodeId), decode);
    return this.barrier;
  }

  /** Requests expired before they were handled, and control entries handled (for tests and metrics). */
  get controlCounts(): { handled: number; expired: number } {
    return { handled: this.control.handled, expired: this.requests.expired };
  }

  /** Runs `task(deadNodeId)` on the reaper of each dead node, before `nodeDead` and before the node is removed. */
  addReapTask(task: ReapTask, first = false): void {
    if (first) this.reapTasks.unshift(task);
    else this.reapTasks.push(task);
  }

  /**
   * Adds an XADD of one entry to `to`'s inbox to a pipeline or MULTI (batched writers use this). An entry with an
   * `id` (unique cluster-wide) is handled once by the receiver even if it lands twice.
   */
  appendSend(
    pipeline: ChainableCommander,
    to: string,
    kind: string,
    body: Buffer | string,
    id?: string,
  ): void {
    const fields = ['k', kind, 'f', this.nodeId, 'b', body];
    if (id !== undefined) fields.push('i', id);
    this.xadd(pipeline, to, fields);
  }

  /** One message to a node's inbox. Resolves once Redis has it. */
  async send(to: string, kind: string, body: Buffer | string): Promise<void> {
    await this.xadd(this.redis, to, ['k', kind, 'f', this.nodeId, 'b', body]);
  }

  private xadd(
    target: RedisClient | ChainableCommander,
    to: string,
    fields: (string | Buffer | number)[],
  ): Promise<unknown> | ChainableCommander {
    // Never trimmed by length: an entry may hold acknowledged messages. Senders bound it (inbox-bound.ts).
    return target.xadd(this.keys.inbox(to), '*', ...fields);
  }

  /** A request to a node, through its control stream (link-requests.ts). */
  request(to: string, kind: string, body: Buffer | string, timeoutMs: number): Promise<Buffer> {
    return this.requests.request(to, kind, body, timeoutMs);
  }

  /** After a stall an entry may be one a survivor already acted on (adopted sessions): fence first (fence.ts). */
  private beforeEntry(): Promise<unknown> | undefined {
    if (this.membership.stale()) return this.beat().then(() => this.fencing);
    return this.fencing;
  }

  private async beat(): Promise<void> {
    if (this.stopped || !this.watch.up) return;
    await this.membership.beat(this.clientCount());
  }

  private async readLoop(): Promise<void> {
    const key = this.keys.inbox(this.nodeId);
    let last = '0-0';
    let handled: string | undefined;
    let attempt = 0;
    while (!this.stopped) {
      try {
        // Entries handled in the previous round are dropped now (their effects had a turn to be committed).
        if (handled !== undefined) {
          if (this.trimInbox !== undefined) this.trimInbox(key, nextId(handled));
          else this.redis.xtrim(key, 'MINID', nextId(handled)).catch(() => {});
          handled = undefined;
        }
        const wait = this.readGate?.();
        if (wait !== undefined) await wait;
        const reply = await readAfter(this.reader, key, last, READ_COUNT, BLOCK_MS);
        attempt = 0;
        if (reply === null) continue;
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) {
            // Paced: a handler still busy with an entry (its messages fill a local queue) and the gate
            // (inbox-pacing.ts) make the reader wait, so that the inbox, not the subscribers' queues, grows.
            const gate = this.readGate?.();
            if (gate !== undefined) await gate;
            // After a stall (this process stopped, or Redis) an entry may be one a survivor already routed to a
            // session it adopted from us: learn first whether we were taken for dead, and give those up.
            const fenced = this.beforeEntry();
            if (fenced !== undefined) await fenced;
            last = id.toString();
            const busy = this.requests.dispatch(fields);
            if (busy !== undefined) await busy.catch(() => {});
            this.barrier?.passed(last);
          }
        }
        handled = last;
      } catch {
        if (this.stopped) break;
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(attempt++)));
      }
    }
  }

  /**
   * Stops beating and reading, leaves the membership (a survivor reaps this node at its next beat) and
   * disconnects. `leave: false` goes silent as a crashed node would (tests of dead-node detection).
   */
  async stop(options: { leave?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    if (this.beatTimer !== undefined) clearInterval(this.beatTimer);
    if (this.watch.up && options.leave !== false) await this.membership.leave().catch(() => {});
    this.stopped = true;
    this.redis.removeAllListeners('close');
    this.reader.disconnect();
    await this.reading;
    this.barrier?.release();
    await this.control.stop();
    this.requests.failAll('Cluster: node stopping');
    this.subscriber.disconnect();
    // QUIT lets the writes already sent finish; without Redis it would wait for a reconnection that may never come.
    if (this.watch.up) await this.redis.quit().catch(() => {});
    this.redis.disconnect();
  }
}
