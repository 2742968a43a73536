// The node-to-node channel of a cluster: one Redis Stream per node (its inbox, bounded by its senders, read with
// XREAD BLOCK on a dedicated connection), carrying one-way messages and requests with correlated replies, plus
// the membership (heartbeats, dead nodes) and the state of the Redis connection, as events.
// Entries: k = kind, f = sender, b = body, r = request id (requests and replies), d = deadline (requests),
// e = error text (failed replies), i = the entry's own id (forwarded publishes: an entry written twice by a MULTI
// sent again after a reconnection is handled once, recent-ids.ts). Processed entries are trimmed, so what a dead node's inbox still holds is
// exactly what it never handled (cl-sessions' adopter reads it).

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../broker/logger.js';
import { ClusterKeys } from './cluster-keys.js';
import type { ClusterOptions } from './cluster-options.js';
import { type MemberState, Membership } from './membership.js';
import { RecentIds } from './recent-ids.js';
import {
  type ChainableCommander,
  connectRedis,
  type RedisClient,
  reconnectDelay,
  watchRedis,
} from './redis-connect.js';

/** What a handler gets: the body and the sending node; a request's handler returns (or resolves to) the reply. */
export type MessageHandler = (
  body: Buffer,
  from: string,
) => undefined | Buffer | string | Promise<Buffer | string | undefined>;

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

const REPLY = '_reply';
const READ_COUNT = 512;
const BLOCK_MS = 5000;

export class NodeLink extends EventEmitter<NodeLinkEvents> {
  readonly nodeId: string;
  readonly keys: ClusterKeys;
  readonly options: ClusterOptions;
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly pending = new Map<
    string,
    { resolve(b: Buffer): void; reject(e: Error): void; timer: NodeJS.Timeout }
  >();
  private readonly reapTasks: ReapTask[] = [];
  /** Gives up what survivors adopted while this node was taken for dead (cluster-sessions.ts: fence.ts). */
  fence: (() => Promise<unknown>) | undefined = undefined;
  /** The fence run after the last rejoin; the inbox reader waits for it. */
  private fencing: Promise<unknown> | undefined = undefined;
  private readonly membership: Membership;
  private readonly watch: { readonly up: boolean };
  private requestSeq = 0;
  /** Ids of the entries handled last (bounded). */
  private readonly handled = new RecentIds();
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
    /** A pub/sub connection (route and retained changes), for the parts that subscribe. */
    readonly subscriber: RedisClient,
    private readonly clientCount: () => number,
  ) {
    super();
    this.nodeId = init.nodeId;
    this.options = init.options;
    this.keys = new ClusterKeys(init.options.keyPrefix);
    const logger = init.logger;
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
      for (const role of ['commands', 'inbox', 'pubsub'])
        connections.push(await connectRedis(init.options, `${name}:${role}`));
      const [redis, reader, subscriber] = connections as [RedisClient, RedisClient, RedisClient];
      const link = new NodeLink(init, redis, reader, subscriber, init.clientCount ?? (() => 0));
      await link.membership.claim();
      await link.beat();
      link.beatTimer = setInterval(() => void link.beat(), init.options.heartbeatInterval);
      link.beatTimer.unref();
      link.reading = link.readLoop();
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
    this.handlers.set(kind, handler);
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

  /** A request to a node; resolves with its handler's reply, rejects on its error or after `timeoutMs`. */
  request(to: string, kind: string, body: Buffer | string, timeoutMs: number): Promise<Buffer> {
    const id = `${this.nodeId}/${++this.requestSeq}`;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`Cluster: no reply from node ${to} to "${kind}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const deadline = String(Date.now() + timeoutMs);
      const fields = ['k', kind, 'f', this.nodeId, 'r', id, 'd', deadline, 'b', body];
      (this.xadd(this.redis, to, fields) as Promise<unknown>).catch((err: unknown) =>
        this.settle(id, undefined, errorText(err)),
      );
    });
  }

  private settle(id: string, body: Buffer | undefined, error: string | undefined): void {
    const waiting = this.pending.get(id);
    if (waiting === undefined) return;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    if (error !== undefined) waiting.reject(new Error(error));
    else waiting.resolve(body ?? Buffer.alloc(0));
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
        const reply = (await this.reader.callBuffer(
          'XREAD',
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          key,
          last,
        )) as [Buffer, [Buffer, Buffer[]][]][] | null;
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
            if (this.membership.stale()) await this.beat();
            if (this.fencing !== undefined) await this.fencing;
            last = id.toString();
            const busy = this.dispatch(fields);
            if (busy !== undefined) await busy.catch(() => {});
          }
        }
        handled = last;
      } catch {
        if (this.stopped) break;
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(attempt++)));
      }
    }
  }

  /** Handles one entry; a one-way handler's promise is returned (the reader waits for it). */
  private dispatch(fields: Buffer[]): Promise<unknown> | undefined {
    let kind = '';
    let from = '';
    let request: string | undefined;
    let deadline = 0;
    let error: string | undefined;
    let entry: string | undefined;
    let body: Buffer = EMPTY;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]![0];
      const value = fields[i + 1]!;
      if (name === 0x6b /* k */) kind = value.toString();
      else if (name === 0x66 /* f */) from = value.toString();
      else if (name === 0x62 /* b */) body = value;
      else if (name === 0x72 /* r */) request = value.toString();
      else if (name === 0x64 /* d */) deadline = Number(value.toString());
      else if (name === 0x65 /* e */) error = value.toString();
      else if (name === 0x69 /* i */) entry = value.toString();
    }
    if (entry !== undefined && this.handled.repeat(entry)) return undefined;
    if (kind === REPLY) {
      if (request !== undefined) this.settle(request, body, error);
      return undefined;
    }
    // A request whose asker gave up (this node was down meanwhile) is not acted on late.
    if (deadline !== 0 && Date.now() > deadline) return undefined;
    const handler = this.handlers.get(kind);
    if (handler === undefined) {
      if (request !== undefined)
        this.reply(from, request, undefined, `no handler for "${kind}" on ${this.nodeId}`);
      return undefined;
    }
    let result: ReturnType<MessageHandler>;
    try {
      result = handler(body, from);
    } catch (err) {
      if (request !== undefined) this.reply(from, request, undefined, errorText(err));
      return undefined;
    }
    if (request === undefined) return result instanceof Promise ? result : undefined;
    const id = request;
    Promise.resolve(result).then(
      (value) => this.reply(from, id, value ?? undefined, undefined),
      (err: unknown) => this.reply(from, id, undefined, errorText(err)),
    );
    return undefined;
  }

  private reply(to: string, id: string, body: Buffer | string | undefined, error: string | undefined): void {
    const args: (string | Buffer | number)[] = ['k', REPLY, 'f', this.nodeId, 'r', id, 'b', body ?? EMPTY];
    if (error !== undefined) args.push('e', error);
    (this.xadd(this.redis, to, args) as Promise<unknown>).catch(() => {});
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
    for (const [id] of this.pending) this.settle(id, undefined, 'Cluster: node stopping');
    this.subscriber.disconnect();
    // QUIT lets the writes already sent finish; without Redis it would wait for a reconnection that may never come.
    if (this.watch.up) await this.redis.quit().catch(() => {});
    this.redis.disconnect();
  }
}

const EMPTY = Buffer.alloc(0);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The stream id right after `id` (XTRIM MINID keeps ids >= its argument). */
export function nextId(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}
