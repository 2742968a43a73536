// Mosquitto's debug-level packet trace ("Received PUBLISH from c (d0, q1, r0, m1, 't', ... (5 bytes))",
// "Sending CONNACK to c (0, 0)", …), word for word as Mosquitto 2.0.11 logs it for 3.1, 3.1.1 and 5.0.
// Callers check `logger.enabled('debug')` first, so nothing here runs (or builds a string) when the level is off.

import type { ConnectPacket, Packet, QoS } from '../protocol/packets.js';
import type { Connection } from './connection.js';

/** Mosquitto names a client by its id, or by its address (without the port) before it has one. */
function nameOf(conn: Connection): string {
  return conn.clientId !== '' ? conn.clientId : hostOf(conn);
}

function hostOf(conn: Connection): string {
  const address = conn.remoteAddress;
  const colon = address.lastIndexOf(':');
  const host = colon > 0 ? address.slice(0, colon) : address;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The PUBLISH line, both ways: `verb` is "Received", "Sending", "Denied" or "Dropped too large". */
export function tracePublish(
  conn: Connection,
  verb: string,
  dup: boolean,
  qos: QoS,
  retain: boolean,
  packetId: number,
  topic: string,
  bytes: number,
): void {
  const direction = verb === 'Sending' ? 'to' : 'from';
  conn.broker.logger.log(
    'debug',
    `${verb} PUBLISH ${direction} ${nameOf(conn)} (d${dup ? 1 : 0}, q${qos}, r${retain ? 1 : 0}, m${packetId}, '${topic}', ... (${bytes} bytes))`,
  );
}

/**
 * What Mosquitto logs when a packet arrives, before it is handled. CONNECT has no line of its own (its will is
 * traced by `traceWill`), PUBLISH is traced by its handler once the message is accepted (or denied), and
 * SUBSCRIBE / UNSUBSCRIBE add one line per filter from their handlers.
 */
export function traceIncoming(conn: Connection, packet: Packet): void {
  const name = nameOf(conn);
  let line: string;
  switch (packet.type) {
    case 4:
      line = `Received PUBACK from ${name} (Mid: ${packet.packetId}, RC:${packet.reasonCode})`;
      break;
    case 5:
      line = `Received PUBREC from ${name} (Mid: ${packet.packetId})`;
      break;
    case 6:
      line = `Received PUBREL from ${name} (Mid: ${packet.packetId})`;
      break;
    case 7:
      line = `Received PUBCOMP from ${name} (Mid: ${packet.packetId}, RC:${packet.reasonCode})`;
      break;
    case 8:
      line = `Received SUBSCRIBE from ${name}`;
      break;
    case 10:
      line = `Received UNSUBSCRIBE from ${name}`;
      break;
    case 12:
      line = `Received PINGREQ from ${name}`;
      break;
    case 14:
      line = `Received DISCONNECT from ${name}`;
      break;
    case 15:
      line = `Received AUTH from ${name} (rc${packet.reasonCode}, ${packet.properties?.authenticationMethod ?? ''})`;
      break;
    default:
      return;
  }
  conn.broker.logger.log('debug', line);
}

/**
 * What Mosquitto logs for each packet it sends (PUBLISH frames are traced by `Connection.sendPublish`).
 * The Debian build of 2.0.11 logs nothing for an outgoing DISCONNECT.
 */
export function traceOutgoing(conn: Connection, packet: Packet): void {
  const name = nameOf(conn);
  let line: string;
  switch (packet.type) {
    case 2:
      // A refused client has no id yet in Mosquitto (it is set once the CONNECT is accepted).
      line = `Sending CONNACK to ${packet.reasonCode === 0 ? name : hostOf(conn)} (${packet.sessionPresent ? 1 : 0}, ${packet.reasonCode})`;
      break;
    case 3:
      tracePublish(
        conn,
        'Sending',
        packet.dup,
        packet.qos,
        packet.retain,
        packet.packetId,
        packet.topic,
        packet.payload.length,
      );
      return;
    case 4:
      line = `Sending PUBACK to ${name} (m${packet.packetId}, rc${packet.reasonCode})`;
      break;
    case 5:
      line = `Sending PUBREC to ${name} (m${packet.packetId}, rc${packet.reasonCode})`;
      break;
    case 6:
      line = `Sending PUBREL to ${name} (m${packet.packetId})`;
      break;
    case 7:
      line = `Sending PUBCOMP to ${name} (m${packet.packetId})`;
      break;
    case 9:
      line = `Sending SUBACK to ${name}`;
      break;
    case 11:
      line = `Sending UNSUBACK to ${name}`;
      break;
    case 13:
      line = `Sending PINGRESP to ${name}`;
      break;
    case 15:
      line = `Sending AUTH to ${name} (rc${packet.reasonCode}, ${packet.properties?.authenticationMethod ?? ''})`;
      break;
    default:
      return;
  }
  conn.broker.logger.log('debug', line);
}

/** The will lines Mosquitto logs at debug level while it accepts a CONNECT. */
export function traceWill(conn: Connection, connect: ConnectPacket): void {
  const logger = conn.broker.logger;
  const w = connect.will;
  if (w === undefined) {
    logger.log('debug', 'No will message specified.');
    return;
  }
  logger.log(
    'debug',
    `Will message specified (${w.payload.length} bytes) (r${w.retain ? 1 : 0}, q${w.qos}).`,
  );
  logger.log('debug', `\t${w.topic}`);
}
