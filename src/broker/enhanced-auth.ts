// MQTT 5 enhanced authentication (section 4.12): the AUTH exchange at CONNECT and re-authentication later,
// driven by the `enhancedAuth` hook. The per-connection state lives here, keyed by the connection.

import type { AuthPacket } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Connection } from './connection.js';
import type { EnhancedAuthResult } from './hooks.js';

/** How an authentication exchange started by CONNECT ended. */
export type ConnectAuthOutcome =
  | { readonly ok: true; readonly properties: Properties }
  | { readonly ok: false; readonly reasonCode: number };

type Phase = 'connect' | 'reauth' | 'idle';
type Step = 'connect' | 'continue' | 'reauthenticate';

interface AuthState {
  readonly method: string;
  phase: Phase;
  /** Called once when the CONNECT exchange ends (phase 'connect' only). */
  finish: ((outcome: ConnectAuthOutcome) => void) | undefined;
}

const states = new WeakMap<Connection, AuthState>();

/**
 * Starts the exchange for a CONNECT carrying an Authentication Method. The caller has checked that a hook
 * exists. `finish` gets the CONNACK properties to add (method, final data) or the refusal reason code.
 */
export function beginConnectAuth(
  conn: Connection,
  method: string,
  data: Buffer | undefined,
  finish: (outcome: ConnectAuthOutcome) => void,
): void {
  const state: AuthState = { method, phase: 'connect', finish };
  states.set(conn, state);
  // Until CONNACK only AUTH and DISCONNECT may arrive [MQTT-3.1.2-30]; dispatch.ts enforces it.
  conn.state = 'authenticating';
  runStep(conn, state, 'connect', data);
}

/** An AUTH packet from the client: a continuation of a running exchange or a re-authentication request. */
export function handleAuthPacket(conn: Connection, packet: AuthPacket): void {
  const state = states.get(conn);
  if (conn.protocolVersion !== 5 || state === undefined) {
    // [MQTT-4.12.0-7] AUTH is only valid on a connection that authenticated with a method.
    // Closed without DISCONNECT, as Mosquitto does (sending one is a SHOULD, 5.0 §4.13.2).
    conn.protocolError(ReasonCode.ProtocolError, 'AUTH without enhanced authentication', false);
    return;
  }
  // [MQTT-4.12.0-5] [MQTT-4.12.1-1] the method must be the one given in CONNECT.
  if (packet.properties?.authenticationMethod !== state.method) {
    conn.protocolError(ReasonCode.ProtocolError, 'AUTH with another authentication method');
    return;
  }
  const data = packet.properties.authenticationData;
  if (packet.reasonCode === ReasonCode.ContinueAuthentication && state.phase !== 'idle') {
    runStep(conn, state, 'continue', data);
    return;
  }
  if (
    packet.reasonCode === ReasonCode.ReAuthenticate &&
    state.phase === 'idle' &&
    conn.state === 'connected'
  ) {
    state.phase = 'reauth';
    runStep(conn, state, 'reauthenticate', data);
    return;
  }
  conn.protocolError(
    ReasonCode.ProtocolError,
    `unexpected AUTH reason code 0x${packet.reasonCode.toString(16)}`,
  );
}

function runStep(conn: Connection, state: AuthState, step: Step, data: Buffer | undefined): void {
  const hook = conn.context.hooks.enhancedAuth;
  if (hook === undefined) {
    apply(conn, state, { result: 'fail', reasonCode: ReasonCode.BadAuthenticationMethod });
    return;
  }
  let result: EnhancedAuthResult | Promise<EnhancedAuthResult>;
  try {
    result = hook(conn, state.method, data, step);
  } catch (err) {
    conn.broker.logger.log('error', `Enhanced authentication of ${conn.clientId} threw: ${String(err)}`);
    result = { result: 'fail', reasonCode: ReasonCode.UnspecifiedError };
  }
  if (!(result instanceof Promise)) {
    apply(conn, state, result);
    return;
  }
  result.then(
    (r) => apply(conn, state, r),
    (err: unknown) => {
      conn.broker.logger.log('error', `Enhanced authentication of ${conn.clientId} failed: ${String(err)}`);
      apply(conn, state, { result: 'fail', reasonCode: ReasonCode.UnspecifiedError });
    },
  );
}

function authProperties(method: string, data: Buffer | undefined): Properties {
  return data === undefined
    ? { authenticationMethod: method }
    : { authenticationMethod: method, authenticationData: data };
}

function apply(conn: Connection, state: AuthState, result: EnhancedAuthResult): void {
  if (conn.state === 'closed' || states.get(conn) !== state) return;
  if (result.result === 'continue') {
    // [MQTT-4.12.0-2] the server asks for more with AUTH 0x18 and the same method.
    conn.send({
      type: 15,
      reasonCode: ReasonCode.ContinueAuthentication,
      properties: authProperties(state.method, result.data),
    });
    return;
  }
  const connecting = state.phase === 'connect';
  if (result.result === 'success') {
    state.phase = 'idle';
    if (connecting) {
      const finish = state.finish;
      state.finish = undefined;
      finish?.({ ok: true, properties: authProperties(state.method, result.data) });
      return;
    }
    // 4.12.1: a successful re-authentication is answered with AUTH 0x00 [MQTT-4.12.0-5].
    conn.send({
      type: 15,
      reasonCode: ReasonCode.Success,
      properties: authProperties(state.method, result.data),
    });
    return;
  }
  const reasonCode = result.reasonCode ?? ReasonCode.NotAuthorized;
  states.delete(conn);
  if (connecting) {
    // [MQTT-4.12.0-4] a failed exchange at CONNECT gets a CONNACK with a failure reason code.
    state.finish?.({ ok: false, reasonCode });
    return;
  }
  // [MQTT-4.12.1-2] a failed re-authentication ends the connection with DISCONNECT.
  conn.close(false, reasonCode);
}
