// Cluster-wide retained messages. The authoritative copy is the Redis hash `retained` (topic -> encoded
// message); every node keeps a full local copy (the trie it had), loaded at start and kept current through the
// `retained` pub/sub channel, so that SUBSCRIBE finds matches synchronously, as on one broker. A change made here
// goes to Redis in the turn's MULTI (before the PUBACK of a QoS 1/2 retained PUBLISH) and to every node.
// Channel message: <node> NUL then 's' + encoded message, or 'd' + topic (deleted). Expired messages found in the
// hash when it is loaded are deleted from it (each node skips and expires them in its own copy meanwhile).

import type { Logger } from '../broker/logger.js';
import { Message } from '../broker/message.js';
import type { RetainedStore } from '../broker/retained-store.js';
import type { Forwarder } from './forwarder.js';
import { decodeRecords, recordTopic } from './message-codec.js';
import type { NodeLink } from './node-link.js';

/** Expired messages deleted per script call (its arguments are topic, value pairs). */
const DROP_BATCH = 256;
/** HDEL of each field whose value is still the one given (KEYS[1] the hash; ARGV field, value, ...). */
const DROP_IF_SAME = `local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return n`;

export class ClusterRetainedStore implements RetainedStore {
  /** While the hash loads, channel messages wait here (they are newer than what is read). */
  private buffered: Buffer[] | undefined;
  /**
   * Per topic: this node's changes whose channel message has not come back yet. A change from another node
   * heard meanwhile was written to Redis before ours (one channel, in execution order), so ours wins: applying
   * it would leave this copy differing from Redis and the other nodes for good.
   */
  private readonly ownPending = new Map<string, number>();

  constructor(
    /** This node's copy: the store the broker had before the cluster started. */
    readonly local: RetainedStore,
    private readonly link: NodeLink,
    private readonly forwarder: Forwarder,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.local.size;
  }

  set(message: Message): void {
    // A retained PUBLISH forwarded from another node: its change arrives on the channel, in order with the others.
    if (this.forwarder.isInbound(message)) return;
    this.local.set(message);
    // $SYS is per node (each node publishes its own); everything else is cluster-wide.
    if (message.topic.startsWith('$SYS')) return;
    this.ownPending.set(message.topic, (this.ownPending.get(message.topic) ?? 0) + 1);
    this.forwarder.retain(message);
  }

  get(topic: string): Message | undefined {
    return this.local.get(topic);
  }

  match(filter: string, now: number, out?: Message[]): Message[] {
    return this.local.match(filter, now, out);
  }

  /** Replaces the local copy's content with the hash (start, and after Redis was away). */
  async load(now: number): Promise<number> {
    const link = this.link;
    this.buffered = [];
    // What this node wrote and never heard back (dropped while Redis was away) is in the hash or not: it decides.
    this.ownPending.clear();
    let loaded = 0;
    try {
      const all: Record<string, Buffer> = await link.redis.hgetallBuffer(link.keys.retained);
      const keep = new Set<string>();
      const expired: Array<string | Buffer> = [];
      for (const [field, value] of Object.entries(all)) {
        const message = this.decode(value);
        if (message === undefined) continue;
        if (message.isExpired(now)) {
          expired.push(field, value);
          continue;
        }
        keep.add(message.topic);
        this.local.set(message);
        loaded++;
      }
      if (expired.length > 0) await this.dropExpired(expired);
      // What this copy has that the hash no longer has was deleted meanwhile.
      for (const m of this.local.match('#', now)) if (!keep.has(m.topic)) this.local.set(emptied(m));
    } finally {
      const waiting = this.buffered;
      this.buffered = undefined;
      for (const b of waiting) this.apply(b);
    }
    return loaded;
  }

  /**
   * Deletes expired messages from the hash (`field, value` pairs), each only if it is still the value read: a
   * node may have retained a new message on that topic since. Best effort: left there, they are skipped again.
   */
  private async dropExpired(pairs: Array<string | Buffer>): Promise<void> {
    const link = this.link;
    for (let i = 0; i < pairs.length; i += 2 * DROP_BATCH) {
      const batch = pairs.slice(i, i + 2 * DROP_BATCH);
      await link.redis.eval(DROP_IF_SAME, 1, link.keys.retained, ...batch).catch((err: unknown) => {
        this.logger.log(
          'warning',
          `Warning: Cluster: could not delete expired retained messages: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    }
  }

  /** A message of the `retained` channel. */
  onChannelMessage(body: Buffer): void {
    if (this.buffered !== undefined) this.buffered.push(body);
    else this.apply(body);
  }

  private apply(body: Buffer): void {
    const nul = body.indexOf(0);
    if (nul < 0) return;
    const kind = body[nul + 1];
    const rest = body.subarray(nul + 2);
    const topic = kind === 0x64 /* d */ ? rest.toString() : recordTopic(rest);
    if (body.toString('utf8', 0, nul) === this.link.nodeId) {
      const n = this.ownPending.get(topic) ?? 0;
      if (n <= 1) this.ownPending.delete(topic);
      else this.ownPending.set(topic, n - 1);
      return;
    }
    if (this.ownPending.has(topic)) return;
    if (kind === 0x64 /* d */) {
      const existing = this.local.get(rest.toString());
      if (existing !== undefined) this.local.set(emptied(existing));
      return;
    }
    const message = this.decode(rest);
    if (message !== undefined) this.local.set(message);
  }

  private decode(body: Buffer): Message | undefined {
    try {
      return decodeRecords(body)[0]?.message;
    } catch (err) {
      this.logger.log(
        'error',
        `Error: Cluster: unreadable retained message: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  }
}

/** The deletion of a topic's retained message (an empty payload [MQTT-3.3.1-6]). */
function emptied(m: Message): Message {
  return new Message(m.topic, Buffer.alloc(0), 0, true, undefined, '', 0);
}
