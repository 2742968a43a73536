// UNSUBSCRIBE: remove each filter the client holds and answer with UNSUBACK.

import type { UnsubscribePacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';
import { traceSubscription, unsubscribeChannel } from '../diagnostics.js';

export function handleUnsubscribe(conn: Connection, packet: UnsubscribePacket): void {
  const session = conn.session!;
  const broker = conn.broker;
  const reasonCodes: number[] = [];
  const authorize = conn.context.hooks.authorize;
  for (const filter of packet.topicFilters) {
    // Mosquitto 2.0 asks the ACL about each UNSUBSCRIBE filter; a refused one stays subscribed (0x87 in 5.0).
    if (authorize !== undefined && !authorize(conn, 'unsubscribe', conn.context.mountPoint + filter)) {
      reasonCodes.push(ReasonCode.NotAuthorized);
      continue;
    }
    const entry = session.subscriptions.get(filter);
    if (broker.logger.enabled('debug')) broker.logger.log('debug', `\t${filter}`);
    if (broker.logger.enabled('unsubscribe')) broker.logger.log('unsubscribe', `${conn.clientId} ${filter}`);
    if (entry === undefined) {
      reasonCodes.push(ReasonCode.NoSubscriptionExisted);
      continue;
    }
    broker.removeSubscription(entry);
    reasonCodes.push(ReasonCode.Success);
    broker.emit('unsubscribe', conn, filter);
    if (unsubscribeChannel.hasSubscribers) traceSubscription(unsubscribeChannel, conn, filter, undefined);
  }
  // [MQTT-3.10.4-4] UNSUBACK even when nothing was removed; 3.1.1 carries no reason codes.
  conn.send({
    type: 11,
    packetId: packet.packetId,
    reasonCodes: conn.protocolVersion === 5 ? reasonCodes : [],
  });
}
