// A client session: subscriptions, messages in flight both ways, and the queue of messages waiting for the
// client. It outlives the network connection when the client asked for a persistent session.

import type { QoS } from '../protocol/packets.js';
import type { Connection } from './connection.js';
import type { ClientIdentity } from './delivery-acl.js';
import type { Message } from './message.js';
import type { DeliveryRecord } from './persistence-port.js';
import { SubscriptionSet } from './subscription-set.js';
import type { ShareGroup } from './topic-tree.js';

/** One message on its way to this session's client. */
export interface Delivery extends DeliveryRecord {
  message: Message;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 subscription identifiers to send with it; undefined when none. */
  subscriptionIds: number[] | undefined;
  packetId: number;
  /**
   * Identifier taken when the message was queued (QoS 1 / 2): Mosquitto numbers a message when it queues it, even
   * one it then drops for a full queue, so later identifiers match its own. Not stored: a restart renumbers.
   */
  queuedId?: number;
  /** QoS 2 only: PUBREC received, PUBREL sent, waiting for PUBCOMP. */
  released: boolean;
  /** Set when the message came through a shared subscription: it may be handed to another member. */
  group?: ShareGroup;
  /**
   * The broker's number for it in the persistence store, given when it is stored; 0 = not stored (QoS 0, clean
   * session, no persistence). The store keys its row by it and never writes here.
   */
  seq: number;
}

export const SESSION_NEVER_EXPIRES = 0xffffffff;

export class Session {
  // The maps and the set are created on first use: an idle client's session never needs them, and empty
  // ones cost a few hundred bytes per connection.
  private subscriptionMap: SubscriptionSet | undefined = undefined;
  private inflightMap: Map<number, Delivery> | undefined = undefined;
  private incomingQos2Set: Set<number> | undefined = undefined;
  inflightBytes = 0;
  /** Deliveries waiting for room in the in-flight window or for the client to come back. */
  readonly queue: Delivery[] = [];
  queueHead = 0;
  queuedBytes = 0;
  connection: Connection | null = null;
  /** The client it last belonged to, for the checks made while it is away (delivery-acl.ts). */
  owner: ClientIdentity | undefined = undefined;
  /** Seconds the session survives a disconnection; 0 = removed at disconnection. */
  expiryInterval = 0;
  /** Saved in the persistence store: its subscriptions, QoS 1/2 deliveries and QoS 2 ids are written there. */
  persisted = false;
  /** When the client last disconnected (ms since epoch); 0 while connected. */
  disconnectedAt = 0;
  /** Messages dropped because a queue or buffer limit was reached (slow consumer). */
  dropped = 0;
  /** The connection (null = offline) for which the drop line was logged (drops.ts); undefined = never. */
  dropLoggedFor: Connection | null | undefined = undefined;
  private lastPacketId = 0;
  /** The broker at the other end when this is a bridge's session (bridge-peer.ts): No Local covers it all. */
  bridgePeer: string | undefined = undefined;

  constructor(readonly clientId: string) {}

  get subscriptions(): SubscriptionSet {
    this.subscriptionMap ??= new SubscriptionSet();
    return this.subscriptionMap;
  }

  /** Outgoing QoS 1/2 deliveries awaiting acknowledgement, in the order they were sent. */
  get inflight(): Map<number, Delivery> {
    this.inflightMap ??= new Map();
    return this.inflightMap;
  }

  /** Incoming QoS 2 packet identifiers: PUBREC sent, PUBREL not yet received [MQTT-4.3.3-10]. */
  get incomingQos2(): Set<number> {
    this.incomingQos2Set ??= new Set();
    return this.incomingQos2Set;
  }

  /** The counts, without creating the collections. */
  get subscriptionCount(): number {
    return this.subscriptionMap === undefined ? 0 : this.subscriptionMap.size;
  }

  get inflightCount(): number {
    return this.inflightMap === undefined ? 0 : this.inflightMap.size;
  }

  get queuedCount(): number {
    return this.queue.length - this.queueHead;
  }

  /** Next free packet identifier, 1..65535 [MQTT-2.2.1-3]; 0 when all are in use. */
  allocatePacketId(): number {
    for (let tries = 0; tries < 65535; tries++) {
      this.lastPacketId = this.lastPacketId === 65535 ? 1 : this.lastPacketId + 1;
      if (!this.inflight.has(this.lastPacketId)) return this.lastPacketId;
    }
    return 0;
  }

  enqueue(delivery: Delivery): void {
    this.queue.push(delivery);
    this.queuedBytes += delivery.message.size;
  }

  peekQueued(): Delivery | undefined {
    return this.queue[this.queueHead];
  }

  shiftQueued(): Delivery | undefined {
    const d = this.queue[this.queueHead];
    if (d === undefined) return undefined;
    this.queueHead++;
    this.queuedBytes -= d.message.size;
    // Compact now and then so the array does not grow for ever behind the head.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return d;
  }

  clearQueue(): void {
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedBytes = 0;
  }
}
