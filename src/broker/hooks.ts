// Extension points of the broker, used by the library API, the plugin loader and the file-based auth.

import type { Buffer } from 'node:buffer';

/** What the broker knows of a connected client, handed to hooks and events. */
export interface ClientInfo {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly protocolVersion: 3 | 4 | 5;
  readonly remoteAddress: string;
  /** Port of the listener the client came through (0 for Unix sockets or streams handed in directly). */
  readonly listenerPort: number;
}

export interface AuthenticationRequest {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly remoteAddress: string;
  readonly listenerPort: number;
}

/** Result of the MQTT 5 enhanced-authentication hook. */
export type EnhancedAuthResult =
  | { readonly result: 'success'; readonly data?: Buffer }
  | { readonly result: 'continue'; readonly data?: Buffer }
  | { readonly result: 'fail'; readonly reasonCode?: number };

export type AccessKind = 'read' | 'write' | 'subscribe' | 'unsubscribe';

/** What an authorize hook sees of a message being published (`write` access): a PUBLISH packet or a will. */
export interface AccessMessage {
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly payload: Buffer;
}

export interface BrokerHooks {
  /** Basic authentication (username / password). True lets the client in. */
  authenticate?(request: AuthenticationRequest): boolean | Promise<boolean>;
  /**
   * Authorization of one topic access: `write` for a PUBLISH received, `subscribe` / `unsubscribe` for a filter, `read` for each
   * message delivered. Must be synchronous: it runs on the routing path.
   */
  authorize?(client: ClientInfo, access: AccessKind, topic: string, message?: AccessMessage): boolean;
  /**
   * A PUBLISH to a `$CONTROL/...` topic that passed `authorize`: consumed by the broker, never routed or
   * retained (Mosquitto's control__process). Only called for such topics, so it costs nothing on the hot path.
   */
  control?(client: ClientInfo, topic: string, payload: Buffer): void;
  /**
   * Whether a user holds a named role (the dynamic-security plugin's roles, directly or through a group): the
   * HTTP API takes users with its `http_api_admin_role` as admins. Never called on the MQTT path.
   */
  hasRole?(username: string, role: string): boolean;
  /** MQTT 5 enhanced authentication (AUTH packets); without it, an Authentication Method gets 0x8C. */
  enhancedAuth?: EnhancedAuthHook;
}

/** One step of an MQTT 5 enhanced authentication exchange (the broker's hook and a plugin's alike). */
export type EnhancedAuthHook = (
  client: ClientInfo,
  method: string,
  data: Buffer | undefined,
  step: 'connect' | 'continue' | 'reauthenticate',
) => EnhancedAuthResult | Promise<EnhancedAuthResult>;
