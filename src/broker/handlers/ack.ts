// PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and QoS 2 flows in both directions.

import type { AckPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';

export function handleAck(conn: Connection, packet: AckPacket): void {
  const session = conn.session!;
  const broker = conn.broker;
  const id = packet.packetId;
  switch (packet.type) {
    case 4: {
      // PUBACK ends a QoS 1 delivery [MQTT-4.3.2-3]; an unknown identifier is ignored.
      const d = session.inflight.get(id);
      if (d === undefined || d.qos !== 1) return;
      broker.completeDelivery(session, id, d);
      return;
    }
    case 5: {
      const d = session.inflight.get(id);
      if (d === undefined || d.qos !== 2) {
        conn.send({ type: 6, packetId: id, reasonCode: ReasonCode.PacketIdentifierNotFound });
        return;
      }
      if (packet.reasonCode >= 0x80) {
        // A failed PUBREC acknowledges the PUBLISH and ends the flow: no PUBREL, no resend [MQTT-4.4.0-2].
        broker.completeDelivery(session, id, d);
        return;
      }
      // [MQTT-4.3.3-4] answer PUBREC with PUBREL; the message itself is now discarded.
      broker.releaseDelivery(d);
      conn.send({ type: 6, packetId: id, reasonCode: 0 });
      return;
    }
    case 6: {
      const known = broker.forgetIncomingQos2(session, id);
      // [MQTT-4.3.3-11] PUBCOMP for a PUBREL, with 0x92 in MQTT 5 when the identifier is unknown.
      conn.send({ type: 7, packetId: id, reasonCode: known ? 0 : ReasonCode.PacketIdentifierNotFound });
      return;
    }
    case 7: {
      const d = session.inflight.get(id);
      if (d === undefined || d.qos !== 2) return;
      broker.completeDelivery(session, id, d);
      return;
    }
  }
}
