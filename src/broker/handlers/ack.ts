// PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and QoS 2 flows in both directions.

import type { AckPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';
import type { Delivery } from '../session.js';

export function handleAck(conn: Connection, packet: AckPacket): void {
  const session = conn.session!;
  const broker = conn.broker;
  const id = packet.packetId;
  switch (packet.type) {
    case 4: {
      // PUBACK ends a QoS 1 delivery [MQTT-4.3.2-3]; an unknown identifier is ignored.
      const d = session.inflight.get(id);
      if (d === undefined) return;
      if (d.qos !== 1) {
        wrongAck(conn, 'PUBACK', d);
        return;
      }
      broker.completeDelivery(session, id, d);
      return;
    }
    case 5: {
      const d = session.inflight.get(id);
      if (d === undefined) {
        conn.send({ type: 6, packetId: id, reasonCode: ReasonCode.PacketIdentifierNotFound });
        return;
      }
      if (d.qos !== 2) {
        wrongAck(conn, 'PUBREC', d);
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
      if (d === undefined) return;
      // PUBCOMP answers our PUBREL only: before PUBREC, or for a QoS 1 message, it is out of order.
      if (d.qos !== 2 || !d.released) {
        wrongAck(conn, 'PUBCOMP', d);
        return;
      }
      broker.completeDelivery(session, id, d);
      return;
    }
  }
}

/**
 * An acknowledgement that does not fit the flow of the in-flight message with its identifier (PUBREC or PUBCOMP for
 * QoS 1, PUBACK for QoS 2, PUBCOMP before PUBREC) is a protocol error [MQTT-4.8.0-1] 3.1.1, 5.0 §4.13: the
 * connection is closed, without DISCONNECT, as Mosquitto 2.0 does.
 */
function wrongAck(conn: Connection, what: string, d: Delivery): void {
  conn.protocolError(
    ReasonCode.ProtocolError,
    `${what} for QoS ${d.qos} message ${d.packetId}${d.released ? ' after PUBREL' : ''}`,
    false,
  );
}
