// AUTH: MQTT 5 enhanced authentication packets, handed to the exchange in enhanced-auth.ts.

import type { AuthPacket } from '../../protocol/packets.js';
import type { Connection } from '../connection.js';
import { handleAuthPacket } from '../enhanced-auth.js';

export function handleAuth(conn: Connection, packet: AuthPacket): void {
  handleAuthPacket(conn, packet);
}
