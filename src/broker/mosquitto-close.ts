// How Mosquitto 2.0 ends an MQTT 5 connection on a malformed packet or a protocol error: with a DISCONNECT and
// which reason code, or by closing alone. Sending the DISCONNECT is a SHOULD (5.0 §4.13.2), so Culex does the same.

import { Rule } from '../protocol/errors.js';
import { ReasonCode } from '../protocol/reason-codes.js';

/** Decoder rules Mosquitto meets in its packet reader or handlers that return before any DISCONNECT is written. */
const CLOSED_WITHOUT_DISCONNECT: ReadonlySet<string> = new Set([
  'MQTT-1.5.5-varint', // remaining length over four bytes
  'MQTT-3.6.1-1', // PUBREL with fixed-header flags other than 0010
  'MQTT-3.9.3-1', // a SUBACK (server-to-client only) from a client
]);

/** The reason code of the DISCONNECT for a decoder error, or undefined to close without one. */
export function disconnectReason(rule: string, reasonCode: number): number | undefined {
  if (CLOSED_WITHOUT_DISCONNECT.has(rule)) return undefined;
  // Mosquitto treats a packet of reserved type 0 as a protocol error rather than a malformed packet.
  if (rule === Rule.ReservedType) return ReasonCode.ProtocolError;
  return reasonCode;
}
