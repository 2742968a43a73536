// AUTH: MQTT 5 re-authentication through the enhanced-authentication hook.

import type { AuthPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Connection } from '../connection.js';

export function handleAuth(conn: Connection, packet: AuthPacket): void {
  const hook = conn.context.hooks.enhancedAuth;
  const method = packet.properties?.authenticationMethod;
  // [MQTT-4.12.0-?] AUTH without an authentication exchange, or with another method, is a protocol error.
  if (conn.protocolVersion !== 5 || hook === undefined || method === undefined) {
    conn.protocolError(ReasonCode.ProtocolError, 'unexpected AUTH');
    return;
  }
  const step = packet.reasonCode === ReasonCode.ReAuthenticate ? 'reauthenticate' : 'continue';
  Promise.resolve(hook(conn, method, packet.properties?.authenticationData, step)).then(
    (result) => {
      if (conn.state !== 'connected') return;
      if (result.result === 'fail') {
        conn.close(false, result.reasonCode ?? ReasonCode.NotAuthorized);
        return;
      }
      const properties = result.data === undefined ? { authenticationMethod: method } : { authenticationMethod: method, authenticationData: result.data };
      conn.send({ type: 15, reasonCode: result.result === 'success' ? 0 : ReasonCode.ContinueAuthentication, properties });
    },
    () => conn.close(false, ReasonCode.UnspecifiedError),
  );
}
