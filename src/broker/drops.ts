// Outgoing messages that never reach their subscriber, counted by reason, with Mosquitto's log line.

import { dropChannel, traceDrop } from './diagnostics.js';
import type { Logger } from './logger.js';
import type { Session } from './session.js';

export interface DropStats {
  /** Queue-full and slow-consumer drops together ($SYS/broker/publish/messages/dropped, as Mosquitto counts). */
  dropped: number;
  /** QoS 1/2 (or queued QoS 0) deliveries refused by a full `max_queued_messages` / `max_queued_bytes` queue. */
  droppedQueueFull: number;
  /** QoS 0 deliveries to a subscriber whose socket is congested and that is not reading (backpressure.ts). */
  droppedSlowConsumer: number;
  /** Deliveries over the client's MQTT 5 Maximum Packet Size [MQTT-3.1.2-25]. */
  droppedTooLarge: number;
  /** Queued deliveries whose Message Expiry Interval ran out before they could be sent [MQTT-3.3.2-5]. */
  droppedExpired: number;
  /** Queued or in-flight deliveries the recipient may no longer read (ACL changed, another user resumed). */
  droppedAcl: number;
}

export type DropReason = 'queueFull' | 'slowConsumer';

export function emptyDropStats(): DropStats {
  return {
    dropped: 0,
    droppedQueueFull: 0,
    droppedSlowConsumer: 0,
    droppedTooLarge: 0,
    droppedExpired: 0,
    droppedAcl: 0,
  };
}

/**
 * Counts one delivery dropped for a full queue or a slow consumer. Logged once per connection of the client (or
 * once while it is offline), in Mosquitto's words and at its level: Mosquitto sets `is_dropping` at the first
 * drop and clears it only when the client connects again.
 */
export function recordDrop(stats: DropStats, logger: Logger, session: Session, reason: DropReason): void {
  stats.dropped++;
  if (reason === 'queueFull') stats.droppedQueueFull++;
  else stats.droppedSlowConsumer++;
  session.dropped++;
  if (dropChannel.hasSubscribers) traceDrop(session.clientId, reason, undefined);
  if (session.dropLoggedFor !== session.connection) {
    session.dropLoggedFor = session.connection;
    logger.log('notice', `Outgoing messages are being dropped for client ${session.clientId}.`);
  }
}
