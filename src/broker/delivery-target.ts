// What the delivery engine needs from whatever receives messages: a client connection today, a bridge or a
// cluster peer later. Queue, in-flight window, flow control and persistence stay in the engine, not the target.

import type { QoS } from '../protocol/packets.js';
import type { Message } from './message.js';
import type { Session } from './session.js';

export interface DeliveryTarget {
  /** Connected and past CONNACK: messages may be sent now. */
  readonly online: boolean;
  /** Bytes handed to the target and not yet sent on (a socket's writableLength). */
  readonly backlog: number;
  /** So far behind that QoS 0 messages are dropped rather than buffered. */
  readonly congested: boolean;
  /** How many QoS 1/2 sends may be unacknowledged (MQTT 5 Receive Maximum; 65535 otherwise). */
  readonly receiveMaximum: number;
  /** Sends one PUBLISH; false when the target cannot take it (over its Maximum Packet Size): nothing was sent. */
  sendPublish(
    message: Message,
    qos: QoS,
    retain: boolean,
    dup: boolean,
    packetId: number,
    subIds: number[] | undefined,
  ): boolean;
  /** Sends the PUBREL of a QoS 2 delivery whose PUBREC came (again, at reconnection) [MQTT-4.4.0-1]. */
  sendPubrel(packetId: number): void;
}

/**
 * A source of messages that is not a client connection (a cluster link from another worker), told when one of
 * its messages meets a target over its soft backlog: it may stop reading until the target drains. Returns
 * whether that message is sent (false: dropped).
 */
export interface SourceHold {
  hold(target: DeliveryTarget, now: number): boolean;
}

/**
 * Back-pressure between the source of a message and a target that falls behind (backpressure.ts for client
 * connections). `publisher` is the connection whose PUBLISH is being routed, null for the broker's own messages.
 */
export interface FlowControl {
  /**
   * A QoS 0 delivery of `size` bytes to a target over its soft backlog: true = send it (maybe pausing the
   * publisher), false = drop.
   */
  admitBacklogged(
    publisher: DeliveryTarget | null,
    target: DeliveryTarget,
    now: number,
    size: number,
  ): boolean;
  /** A QoS 1/2 delivery was queued for an online target. */
  queued(publisher: DeliveryTarget, target: DeliveryTarget, session: Session, now: number): void;
  /** A delivery of `session` was acknowledged: publishers held for it may resume. */
  acknowledged(session: Session): void;
}
