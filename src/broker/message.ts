// An application message inside the broker: decoded once from a PUBLISH, shared by every subscriber it goes to.

import type { QoS } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import { ownCopy, PublishFrame } from '../protocol/publish-frame.js';
import type { BrokerHooks, ClientInfo } from './hooks.js';
import type { MessageRecord } from './persistence-port.js';

/** A payload whose ArrayBuffer is larger than this many bytes beyond the payload itself is copied when kept. */
const PIN_SLACK = 64;

/** Who published a message, as an authorize hook sees it, with its listener's hooks (undefined: to be resolved). */
export interface MessageSource extends ClientInfo {
  hooks: BrokerHooks | undefined;
}

export class Message implements MessageRecord {
  /** Serialized lazily, once, and reused for every subscriber (see PublishFrame). */
  private frameCache: PublishFrame | undefined;
  /** Set once the message is kept for long (retained): its payload and frames then own their memory. */
  private longLived = false;
  private body: Buffer;
  /**
   * The broker's number for this message in the persistence store, given when it is first stored (0 = never):
   * stores key their copy by it and never write into the message (persistence-port.ts).
   */
  id = 0;
  /** Who published it; kept for retained messages only, for check_retain_source (delivery-acl.ts). */
  source: MessageSource | undefined = undefined;
  /**
   * Cluster mode: the message's id across nodes, given by the node it was published on: that node's epoch
   * (unique per node start, cluster-wide) and a sequence number; 0 = none. Forwarded and stored with it, so that a
   * session adopted from a dead node gets each message once (src/cluster/adoption-gate.ts).
   */
  clusterEpoch = 0;
  clusterSeq = 0;

  constructor(
    readonly topic: string,
    payload: Buffer,
    readonly qos: QoS,
    readonly retain: boolean,
    readonly properties: Properties | undefined,
    /** Client identifier of the publisher ('' for messages the broker makes itself); used by No Local. */
    readonly origin: string,
    /** Absolute expiry time in ms since the epoch (MQTT 5 Message Expiry Interval); 0 = never. */
    readonly expiresAt: number,
  ) {
    this.body = payload;
  }

  get payload(): Buffer {
    return this.body;
  }

  get frame(): PublishFrame {
    this.frameCache ??= new PublishFrame(this.topic, this.payload, this.properties, this.longLived);
    return this.frameCache;
  }

  /**
   * Called when the message is retained: a payload that is a view of a larger buffer (a socket read chunk, Node's
   * pool) is copied, and frames cached from now on own their memory, so that a sparse stream of retained messages
   * cannot keep many shared buffers alive.
   */
  keepLong(): void {
    if (this.longLived) return;
    this.longLived = true;
    const payload = this.payload;
    if (payload.buffer.byteLength > payload.length + PIN_SLACK) this.body = ownCopy(payload);
    this.frameCache = undefined;
  }

  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && now >= this.expiresAt;
  }

  /** Seconds left of the Message Expiry Interval, to be sent on delivery [MQTT-3.3.2-6]. */
  remainingExpiry(now: number): number | undefined {
    if (this.expiresAt === 0) return undefined;
    return Math.max(0, Math.ceil((this.expiresAt - now) / 1000));
  }

  /** Approximate memory held, for max_queued_bytes / max_inflight_bytes accounting. */
  get size(): number {
    return this.payload.length;
  }
}
