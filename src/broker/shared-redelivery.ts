// Shared subscriptions when a member goes away: its unacknowledged QoS 1/2 messages and those still queued
// for it are handed to another connected member of the same group (MQTT 5 section 4.8.2) — in a cluster, to a
// member on another node when none is connected here (BrokerCore.canHandOn / deliverShared).

import type { BrokerCore } from './broker-core.js';
import type { Delivery, Session } from './session.js';

/**
 * Called when `session` has just lost its connection. For QoS 1 the spec lets the server wait for the client
 * or send the message to another member at once (4.8.2, "SHOULD ... as soon as it loses its connection");
 * Culex sends it on. A QoS 2 message already sent must be completed with that same client [MQTT-4.8.2-4] and
 * never given to another [MQTT-4.8.2-5], so it stays. Queued messages were never sent: any member may have
 * them. Without another connected member (here or, in a cluster, on another node) nothing moves.
 */
export function redistributeShared(broker: BrokerCore, session: Session): number {
  // Most sessions have nothing in flight: `inflight` would make each an empty map just to find that out.
  let moved = session.inflightCount > 0 ? redistributeInflight(broker, session) : 0;
  if (session.queuedCount === 0) return moved;
  const keep: Delivery[] = [];
  const move: Delivery[] = [];
  for (let d = session.shiftQueued(); d !== undefined; d = session.shiftQueued()) {
    if (d.group !== undefined && broker.canHandOn(d.group, session)) move.push(d);
    else keep.push(d);
  }
  session.clearQueue();
  for (const d of keep) session.enqueue(d);
  for (const d of move) {
    broker.forgetDelivery(d);
    if (d.message.isExpired(broker.now)) continue;
    broker.deliverShared(d.group!, d.message, session);
    moved++;
  }
  return moved;
}

/** QoS 1 messages in flight to `session` that another member of their group can take. */
function redistributeInflight(broker: BrokerCore, session: Session): number {
  let moved = 0;
  for (const [packetId, d] of session.inflight) {
    if (d.group === undefined || d.qos !== 1 || !broker.canHandOn(d.group, session)) continue;
    session.inflight.delete(packetId);
    session.inflightBytes -= d.message.size;
    broker.forgetDelivery(d);
    // A new delivery to another client: an expired message is not started [MQTT-3.3.2-5].
    if (d.message.isExpired(broker.now)) continue;
    broker.deliverShared(d.group, d.message, session);
    moved++;
  }
  return moved;
}
