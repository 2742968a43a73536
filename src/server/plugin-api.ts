// The contract between Culex and a plugin module named by a `plugin` line (see docs/plugins.md).

import type { AccessKind, AuthenticationRequest, ClientInfo, EnhancedAuthHook } from '../broker/hooks.js';
import type { LogLevel } from '../broker/logger.js';
import type { Message } from '../broker/message.js';
import type { BrokerControl } from './broker-api.js';

/** true = allow, false = deny, undefined = no opinion: ask the next plugin, then the password / ACL files. */
export type PluginDecision = boolean | undefined;

export interface PluginHooks {
  /** Username / password check of a CONNECT that carries a username. */
  authenticate?(request: AuthenticationRequest): PluginDecision | Promise<PluginDecision>;
  /** One topic access: 'write' (PUBLISH in), 'subscribe' / 'unsubscribe' (a filter), 'read' (a delivery). Synchronous. */
  authorize?(client: ClientInfo, access: AccessKind, topic: string): PluginDecision;
  /** Whether a user holds a named role (dynamic security); undefined = unknown user, ask the next plugin. */
  hasRole?(username: string, role: string): PluginDecision;
  /** MQTT 5 enhanced authentication; the first plugin that defines it handles every AUTH exchange. */
  enhancedAuth?: EnhancedAuthHook;
}

/** What a plugin returns: hooks plus optional event handlers and a clean-up for reload / shutdown. */
export interface CulexPlugin extends PluginHooks {
  onClientConnected?(client: ClientInfo): void;
  onClientDisconnected?(client: ClientInfo): void;
  /** Every message accepted by the broker; `client` is null for messages not from a client (wills, $SYS). */
  onMessage?(message: Message, client: ClientInfo | null): void;
  /**
   * A PUBLISH a client sent to a `$CONTROL/...` topic (after the authorize check); such messages are never routed.
   * Return true when the plugin handled the topic.
   */
  onControl?(client: ClientInfo, topic: string, payload: Buffer): boolean;
  /** Called when the plugin is replaced by a reload or the broker stops. */
  close?(): void | Promise<void>;
  /** Culex-only: state the nodes of a cluster share (the dynamic-security document); see SharedState. */
  sharedState?: SharedState;
}

/**
 * State a plugin keeps the same on every node of a cluster (src/cluster/shared-state.ts carries it through
 * Redis): its whole document, replaced on the other nodes after each change.
 */
export interface SharedState {
  /** Names the state in Redis (one per kind of plugin). */
  readonly name: string;
  /** The current document. */
  read(): string;
  /**
   * Replaces the state with a document another node wrote (the plugin saves it as its own); `note` is what the
   * plugin passed along with that change (dynamic security: the usernames to disconnect), absent when the
   * document is read at start, after a reload or after a Redis outage.
   */
  replace(document: string, note?: string): void;
  /** Hears this node's own changes (the new document and a note for the other nodes); undefined stops. */
  onChange(listener: ((document: string, note: string) => void) | undefined): void;
  /**
   * Optional. `document` is a newer cluster copy than the one this node's latest changes were made on (another
   * node changed it at the same moment): re-apply those changes to it, make the result the state and return it.
   * Without it such a change is replaced by the other node's (and a warning logged).
   */
  rebase?(document: string): string;
  /** Optional. The cluster's copy now holds this node's changes up to the `read()` that returned `document`. */
  settle?(document: string): void;
}

export interface PluginContext {
  /** The `plugin_opt_NAME value` lines that follow the `plugin` line, keyed by NAME. */
  readonly options: Readonly<Record<string, string>>;
  /** The broker's log, at Mosquitto's levels. */
  log(level: LogLevel, message: string): void;
  /** Acting on the running broker (available once it has started). */
  readonly broker: PluginBroker;
  /** With per_listener_settings: index of the listener (in file order) the plugin belongs to. */
  readonly listenerIndex: number | undefined;
}

/** A plugin module's default export: a factory (possibly async) or a ready plugin object. */
export type PluginFactory = (context: PluginContext) => CulexPlugin | Promise<CulexPlugin>;
export type PluginModuleExport = PluginFactory | CulexPlugin;

/**
 * What a plugin may see of and do to the broker: the same typed control surface as the library's Broker
 * (clients, sessions, subscriptions, retained messages, publish, disconnect). Plugins load before the broker
 * starts: until then lists are empty and actions do nothing.
 */
export type PluginBroker = BrokerControl;
