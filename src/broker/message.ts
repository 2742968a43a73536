// An application message inside the broker: decoded once from a PUBLISH, shared by every subscriber it goes to.

import type { QoS } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import { ownCopy, PublishFrame } from '../protocol/publish-frame.js';
import { keepFrame } from './frame-ring.js';
import type { BrokerHooks, ClientInfo } from './hooks.js';
import { type PayloadSlabs, SLAB_MAX_PAYLOAD, type SlabResident } from './payload-slab.js';
import type { MessageRecord } from './persistence-port.js';

/** A payload whose ArrayBuffer is larger than this many bytes beyond the payload itself is copied when kept. */
const PIN_SLACK = 64;

/** Who published a message, as an authorize hook sees it, with its listener's hooks (undefined: to be resolved). */
export interface MessageSource extends ClientInfo {
  hooks: BrokerHooks | undefined;
}

/** Message.slabIndex when the message was never kept long; when kept with a payload of its own. */
const NOT_KEPT = -2;
const KEPT_OWN = -1;
/** Message.span: offset and length of a payload in its slab, in one small integer. */
const SPAN = SLAB_MAX_PAYLOAD + 1;

export class Message implements MessageRecord, SlabResident {
  /** Serialized lazily, once, and reused for every subscriber (see PublishFrame). */
  private frameCache: PublishFrame | undefined;
  /**
   * Once the message is kept for long (retained) its payload and frames own their memory: then its index among
   * the holders of its payload's slab (payload-slab.ts), or KEPT_OWN; NOT_KEPT before.
   */
  slabIndex = NOT_KEPT;
  /** The payload, or the slab holding it: a view per retained payload would cost 96 bytes of heap each. */
  private body: Buffer;
  /** Where the payload is in `body` when that is a slab (offset * SPAN + length); -1: `body` is the payload. */
  private span = -1;
  /** @internal TrieRetainedStore: when it was retained, on the store's clock; -1 once replaced or deleted. */
  retainedAt = 0;
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
    // Kept this small so that it inlines where it is read per message; the slab case is the cold call.
    return this.span < 0 ? this.body : this.slabView();
  }

  private slabView(): Buffer {
    const span = this.span;
    const at = Math.floor(span / SPAN);
    return this.body.subarray(at, at + (span % SPAN));
  }

  get frame(): PublishFrame {
    let frame = this.frameCache;
    if (frame === undefined) {
      const longLived = this.slabIndex !== NOT_KEPT;
      frame = new PublishFrame(this.topic, this.payload, this.properties, longLived);
      this.frameCache = frame;
      // A retained message keeps its frame only while recently used (frame-ring.ts).
      if (longLived) keepFrame(this);
    }
    return frame;
  }

  /** @internal frame-ring.ts: the frame is rebuilt on next use. */
  dropFrame(): void {
    this.frameCache = undefined;
  }

  /**
   * Called when the message is retained: its payload is copied into `slabs` when small, or else when it is a view
   * of a larger buffer (a socket read chunk, Node's pool), and frames cached from now on own their memory, so
   * that a sparse stream of retained messages cannot keep many shared buffers alive.
   */
  keepLong(slabs?: PayloadSlabs): void {
    if (this.slabIndex >= 0) return;
    const payload = this.payload;
    // A released message set again has its payload placed anew: unaccounted, it would pin its old slab.
    if (slabs !== undefined && payload.length <= SLAB_MAX_PAYLOAD) slabs.place(this, payload);
    else if (this.slabIndex === KEPT_OWN) return;
    else {
      this.slabIndex = KEPT_OWN;
      this.span = -1;
      this.body = payload.buffer.byteLength > payload.length + PIN_SLACK ? ownCopy(payload) : payload;
    }
    this.frameCache = undefined;
  }

  /** @internal PayloadSlabs: no longer retained, but maybe still queued: a copy of its own, not a slab pinned. */
  unslab(): void {
    if (this.span < 0) return;
    this.body = ownCopy(this.payload);
    this.span = -1;
    this.frameCache = undefined;
  }

  /** @internal PayloadSlabs: the payload moved; a cached frame still points at the old bytes. */
  rehome(slab: Buffer, at: number, length: number): void {
    this.body = slab;
    this.span = at * SPAN + length;
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
    const span = this.span;
    return span < 0 ? this.body.length : span % SPAN;
  }
}
