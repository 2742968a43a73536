// The writes of the forwarder's turns on their way to Redis: one MULTI per drain, in order. While Redis is away
// the turns wait here within cluster_queue_limit / cluster_queue_bytes; beyond, the oldest are dropped, counted,
// and the acknowledgements they held are refused (settle(false): the clients resend), never acknowledged and lost.

import type { Logger } from '../broker/logger.js';
import { waitForReplicas } from '../persistence/redis-wait.js';
import type { NodeLink } from './node-link.js';
import type { ChainableCommander } from './redis-connect.js';

/** Inbox entry kind of forwarded publishes. */
export const PUBLISH_KIND = 'pub';

/** One inbox entry for node `to`, or a retained update of `topic` (no body: deleted). */
export type Op =
  | { readonly to: string; readonly body: Buffer; readonly id: string | undefined }
  | { readonly topic: string; readonly body: Buffer | undefined; readonly to?: undefined };

/** One turn's writes, waiting for Redis. */
export interface Batch {
  readonly ops: Op[];
  readonly count: number;
  readonly bytes: number;
  settle: ((ok: boolean) => void) | undefined;
}

export class RedisSendQueue {
  private queue: Batch[] = [];
  private queuedCount = 0;
  private queuedBytes = 0;
  private draining = false;

  constructor(
    private readonly link: NodeLink,
    private readonly logger: Logger,
    private readonly counters: { dropped: number },
    /** `<node id> NUL`: the start of this node's messages on the retained channel. */
    private readonly retainedPrefix: Buffer,
  ) {}

  /** Copies and retained updates waiting. */
  get count(): number {
    return this.queuedCount;
  }

  /** A MULTI is being written. */
  get writing(): boolean {
    return this.draining;
  }

  /** Something is queued or being written. */
  get busy(): boolean {
    return this.queue.length > 0 || this.draining;
  }

  /** Queues a turn; beyond the bounds the oldest are dropped, counted, and their acknowledgements withheld. */
  push(batch: Batch): void {
    this.queue.push(batch);
    this.queuedCount += batch.count;
    this.queuedBytes += batch.bytes;
    const limits = this.link.options;
    while (
      this.queue.length > 0 &&
      (this.queuedCount > limits.queueLimit || this.queuedBytes > limits.queueBytes)
    ) {
      const dropped = this.queue.shift()!;
      this.queuedCount -= dropped.count;
      this.queuedBytes -= dropped.bytes;
      if (this.counters.dropped === 0)
        this.logger.log(
          'warning',
          'Cluster: Redis unreachable and the queue is full: cross-node messages are being dropped.',
        );
      this.counters.dropped += dropped.count;
      dropped.settle?.(false);
    }
  }

  /** Writes what is queued, in order, one MULTI at a time, while Redis is reachable. */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && this.link.up) {
        const batches = this.queue;
        this.queue = [];
        const count = this.queuedCount;
        const bytes = this.queuedBytes;
        this.queuedCount = 0;
        this.queuedBytes = 0;
        const multi = this.link.redis.multi();
        for (const b of batches) this.writeOps(multi, b.ops);
        let result: [Error | null, unknown][] | null;
        try {
          result = await multi.exec();
        } catch {
          // The connection went: everything goes again, first, once Redis is back.
          this.queue = [...batches, ...this.queue];
          this.queuedCount += count;
          this.queuedBytes += bytes;
          if (this.link.up) await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        const failed =
          result?.find(([err]) => err !== null)?.[0] ?? (result === null ? new Error('aborted') : null);
        if (failed !== null) {
          // Redis refuses the writes themselves (out of memory, …): retrying would not help.
          this.logger.log('error', `Error: Cluster: Redis refused cross-node messages: ${failed.message}`);
          this.counters.dropped += count;
        }
        // The copies are in Redis; without the replicas' confirmation their acknowledgements are refused.
        const unconfirmed = failed === null ? await this.replicasConfirmed() : null;
        if (unconfirmed !== null) this.logger.log('error', `Error: Cluster: ${unconfirmed.message}`);
        for (const b of batches) b.settle?.(failed === null && unconfirmed === null);
      }
    } finally {
      this.draining = false;
    }
  }

  /** `cluster_redis_wait_replicas`: null once the replicas have what this connection wrote, else the error. */
  private async replicasConfirmed(): Promise<Error | null> {
    const wait = this.link.options.wait;
    if (wait === undefined) return null;
    return waitForReplicas(this.link.redis, wait).then(
      () => null,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** The operations of one turn into `pipeline` (a MULTI): inbox entries, retained updates and their channel. */
  writeOps(pipeline: ChainableCommander, ops: readonly Op[]): void {
    const keys = this.link.keys;
    for (const op of ops) {
      if (op.to !== undefined) {
        this.link.appendSend(pipeline, op.to, PUBLISH_KIND, op.body, op.id);
        continue;
      }
      if (op.body === undefined) pipeline.hdel(keys.retained, op.topic);
      else pipeline.hset(keys.retained, op.topic, op.body);
      const tail = op.body ?? Buffer.from(op.topic);
      const kind = op.body === undefined ? 'd' : 's';
      pipeline.publish(keys.retainedChannel, Buffer.concat([this.retainedPrefix, Buffer.from(kind), tail]));
    }
  }
}
