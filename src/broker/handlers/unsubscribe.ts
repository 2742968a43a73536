// UNSUBSCRIBE: remove each filter the client holds and answer with UNSUBACK.

import type { UnsubscribePacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';

export function handleUnsubscribe(conn: Connection, packet: UnsubscribePacket): void {
  const session = conn.session!;
  const broker = conn.broker;
  const reasonCodes: number[] = [];
  for (const filter of packet.topicFilters) {
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
  }
  // [MQTT-3.10.4-4] UNSUBACK even when nothing was removed; 3.1.1 carries no reason codes.
  conn.send({
    type: 11,
    packetId: packet.packetId,
    reasonCodes: conn.protocolVersion === 5 ? reasonCodes : [],
  });
}
