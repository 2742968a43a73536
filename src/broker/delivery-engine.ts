// The delivery engine: for every target, the queue, the in-flight window (Receive Maximum, max_inflight_*), the
// flow control towards the publisher, and the persistence of QoS 1/2 deliveries. Targets only send packets
// (delivery-target.ts), so a bridge or a cluster peer gets the same queueing and persistence as a client.

import type { QoS } from '../protocol/packets.js';
import { SOFT_BACKLOG } from './backpressure.js';
import type { Clock } from './clock.js';
import { mayRead } from './delivery-acl.js';
import type { DeliveryTarget, FlowControl, SourceHold } from './delivery-target.js';
import { deliverChannel, dropChannel, traceDeliver, traceDrop } from './diagnostics.js';
import { type DropReason, recordDrop } from './drops.js';
import type { Logger } from './logger.js';
import type { Message } from './message.js';
import type { BrokerOptions } from './options.js';
import type { Delivery, Session } from './session.js';
import type { SessionJournal } from './session-journal.js';
import type { BrokerStats } from './stats.js';
import type { ShareGroup } from './topic-tree.js';

export interface DeliveryEngineInit {
  options: BrokerOptions;
  stats: BrokerStats;
  logger: Logger;
  journal: SessionJournal;
  clock: Clock;
  flow: FlowControl;
}

export class DeliveryEngine {
  /** The target whose PUBLISH is being routed, for back-pressure (null for wills and $SYS). */
  publisher: DeliveryTarget | null = null;
  /** Set while messages from a source that is not a client are routed (a cluster link), for back-pressure. */
  heldSource: SourceHold | null = null;
  private readonly options: BrokerOptions;
  private readonly stats: BrokerStats;
  private readonly logger: Logger;
  private readonly journal: SessionJournal;
  private readonly clock: Clock;
  private readonly flow: FlowControl;

  constructor(init: DeliveryEngineInit) {
    this.options = init.options;
    this.stats = init.stats;
    this.logger = init.logger;
    this.journal = init.journal;
    this.clock = init.clock;
    this.flow = init.flow;
  }

  /**
   * Cluster: while a dead node's sessions are being adopted, a message may reach one of them more than once
   * (directly, through the dead node's inbox, or already stored); the gate lets one through (src/cluster/adoption-gate.ts).
   */
  gate: ((session: Session, message: Message, group: ShareGroup | undefined) => boolean) | undefined =
    undefined;

  /**
   * Cluster: told of each QoS 1/2 delivery queued for an online session while no connection's PUBLISH is being
   * routed (messages from other nodes among them), so that the inbox reader can wait (src/cluster/inbox-pacing.ts).
   */
  queuedWithoutPublisher: ((session: Session) => void) | undefined = undefined;

  /** Sends now, queues, or drops (slow consumer) one message for one session. */
  deliver(
    session: Session,
    message: Message,
    qos: QoS,
    retain: boolean,
    subIds: number[] | undefined,
    group?: ShareGroup,
  ): void {
    if (this.gate !== undefined && !this.gate(session, message, group)) return;
    const target: DeliveryTarget | null = session.connection;
    const online = target?.online === true;
    if (qos === 0) {
      if (online) {
        // Slow the publisher rather than lose the message; past its bound a subscriber loses it (backpressure.ts).
        if (
          target.backlog > SOFT_BACKLOG &&
          !(this.heldSource !== null
            ? this.heldSource.hold(target, this.clock.now())
            : this.flow.admitBacklogged(this.publisher, target, this.clock.now(), message.size))
        ) {
          this.drop(session, 'slowConsumer');
          return;
        }
        if (target.sendPublish(message, 0, retain, false, 0, subIds)) {
          this.stats.messagesSent++;
          if (deliverChannel.hasSubscribers) traceDeliver(session.clientId, message, 0, 0);
        }
      } else if (this.options.queueQos0Messages && session.expiryInterval !== 0) {
        this.enqueue(session, newDelivery(message, qos, retain, subIds));
      }
      return;
    }
    const d = newDelivery(message, qos, retain, subIds);
    if (group !== undefined) d.group = group;
    if (online && session.queuedCount === 0 && this.hasInflightRoom(session, target))
      this.sendInflight(session, target, d);
    else {
      this.enqueue(session, d);
      if (online && this.publisher !== null)
        this.flow.queued(this.publisher, target, session, this.clock.now());
      else if (online && this.queuedWithoutPublisher !== undefined) this.queuedWithoutPublisher(session);
    }
  }

  /** The target is back (CONNACK sent): resend what was in flight, then the queue [MQTT-4.4.0-1]. */
  resume(session: Session, target: DeliveryTarget): void {
    if (session.inflightCount > 0) {
      for (const d of session.inflight.values()) {
        if (d.released) target.sendPubrel(d.packetId);
        // Resent only if this client may read it now (another user may have resumed the session).
        else if (mayRead(session, d.message.topic))
          target.sendPublish(d.message, d.qos, d.retain, true, d.packetId, d.subscriptionIds);
        else {
          this.releaseInflight(session, d.packetId, d);
          this.stats.droppedAcl++;
        }
      }
    }
    this.pump(session);
  }

  /** A QoS 1 / 2 delivery is finished (PUBACK, PUBCOMP, or a failed PUBREC): free its slot. */
  completeDelivery(session: Session, packetId: number, d: Delivery): void {
    this.releaseInflight(session, packetId, d);
    this.pump(session);
    this.flow.acknowledged(session);
  }

  /** A QoS 2 delivery got its PUBREC: only the PUBREL/PUBCOMP exchange is left [MQTT-4.3.3-3]. */
  releaseDelivery(d: Delivery): void {
    d.released = true;
    this.journal.updateDelivery(d);
  }

  /** A delivery leaves this session without completing here (handed to another share group member). */
  forgetDelivery(d: Delivery): void {
    this.journal.removeDelivery(d);
  }

  releaseInflight(session: Session, packetId: number, d: Delivery): void {
    session.inflight.delete(packetId);
    session.inflightBytes -= d.message.size;
    this.journal.removeDelivery(d);
  }

  /** Moves queued messages to the target while its in-flight window and buffer have room. */
  pump(session: Session): void {
    const target: DeliveryTarget | null = session.connection;
    if (target === null || !target.online) return;
    const now = this.clock.now();
    for (let d = session.peekQueued(); d !== undefined; d = session.peekQueued()) {
      if (target.congested) return;
      if (d.qos > 0 && !this.hasInflightRoom(session, target)) return;
      session.shiftQueued();
      // [MQTT-3.3.2-5] an expired message is not delivered, nor one the client may no longer read.
      const expired = d.message.isExpired(now);
      if (expired || !mayRead(session, d.message.topic)) {
        this.journal.removeDelivery(d);
        if (expired) this.stats.droppedExpired++;
        else this.stats.droppedAcl++;
        if (dropChannel.hasSubscribers) traceDrop(session.clientId, expired ? 'expired' : 'acl', d.message);
        continue;
      }
      if (d.qos > 0) this.sendInflight(session, target, d);
      else if (target.sendPublish(d.message, 0, d.retain, false, 0, d.subscriptionIds)) {
        this.stats.messagesSent++;
        if (deliverChannel.hasSubscribers) traceDeliver(session.clientId, d.message, 0, 0);
      }
    }
  }

  private hasInflightRoom(session: Session, target: DeliveryTarget): boolean {
    const max = this.options.maxInflightMessages;
    const receiveMaximum = target.receiveMaximum;
    const limit = max > 0 && max < receiveMaximum ? max : receiveMaximum;
    if (session.inflight.size >= limit) return false;
    const maxBytes = this.options.maxInflightBytes;
    return maxBytes === 0 || session.inflightBytes < maxBytes;
  }

  private sendInflight(session: Session, target: DeliveryTarget, d: Delivery): void {
    const q = d.queuedId;
    const id = q !== undefined && q !== 0 && !session.inflight.has(q) ? q : session.allocatePacketId();
    if (id === 0) {
      this.enqueue(session, d);
      return;
    }
    d.packetId = id;
    session.inflight.set(id, d);
    session.inflightBytes += d.message.size;
    // Stored with its identifier before the PUBLISH can leave (output waits for the commit), so that a restart
    // resends it under the same identifier and QoS 2 stays exactly once.
    if (session.persisted) {
      if (d.seq !== 0) this.journal.updateDelivery(d);
      else this.journal.addDelivery(session.clientId, d);
    }
    if (target.sendPublish(d.message, d.qos, d.retain, false, id, d.subscriptionIds)) {
      this.stats.messagesSent++;
      if (deliverChannel.hasSubscribers) traceDeliver(session.clientId, d.message, d.qos, id);
    }
    // Not sendable to this client (over its Maximum Packet Size): free the slot; the caller's loop goes on, so no
    // recursion through pump() however many such messages are queued.
    else this.releaseInflight(session, id, d);
  }

  private enqueue(session: Session, d: Delivery): void {
    if (d.qos > 0 && d.queuedId === undefined) d.queuedId = session.allocatePacketId();
    const maxCount = this.options.maxQueuedMessages;
    const maxBytes = this.options.maxQueuedBytes;
    if (
      (maxCount > 0 && session.queuedCount >= maxCount) ||
      // As Mosquitto 2.0.11: a message is queued while the queue holds fewer bytes than the budget, so the last one
      // may cross it (250 bytes keep three 100-byte messages).
      (maxBytes > 0 && session.queuedBytes >= maxBytes)
    ) {
      this.journal.removeDelivery(d);
      this.drop(session, 'queueFull');
      return;
    }
    session.enqueue(d);
    // QoS 0 messages are never written: only acknowledged messages must survive a restart.
    if (session.persisted && d.qos > 0 && d.seq === 0) this.journal.addDelivery(session.clientId, d);
  }

  private drop(session: Session, reason: DropReason): void {
    recordDrop(this.stats, this.logger, session, reason);
  }
}

function newDelivery(message: Message, qos: QoS, retain: boolean, subIds: number[] | undefined): Delivery {
  return { message, qos, retain, subscriptionIds: subIds, packetId: 0, released: false, seq: 0 };
}
