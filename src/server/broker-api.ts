// The typed surface an embedder, the admin API and plugins use to look into and act on a running broker.
// Views are plain snapshots (no live broker objects), so holding one cannot pin or corrupt broker state.

import type { Buffer } from 'node:buffer';
import type { BrokerStats } from '../broker/broker-core.js';
import type { ClientInfo } from '../broker/hooks.js';
import type { Message } from '../broker/message.js';
import type { QoS } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';

/** One page of a long list. Pass `cursor` back to get the next page; undefined means this was the last one. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly cursor: string | undefined;
  /** How many items the listing had when its first page was taken. */
  readonly total: number;
}

export interface PageRequest {
  /** From the previous page; omit for the first page. */
  cursor?: string;
  /** Items per page: default 100, at most 1000. */
  limit?: number;
}

export interface SubscriptionView {
  readonly clientId: string;
  /** As the client sent it, with `$share/group/` if any. */
  readonly filter: string;
  readonly shareGroup: string | undefined;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier, 0 for none. */
  readonly identifier: number;
}

/** A connected client. */
export interface ClientView {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly remoteAddress: string;
  readonly listenerPort: number;
  readonly protocolVersion: 3 | 4 | 5;
  /** Keep Alive in seconds as granted (0 = none). */
  readonly keepAlive: number;
  /** When the connection was accepted (ms since the epoch). */
  readonly connectedAt: number;
  readonly subscriptionCount: number;
  /** Messages waiting in the session's queue. */
  readonly queued: number;
  /** QoS 1 / 2 messages sent and not yet acknowledged. */
  readonly inflight: number;
}

export interface ClientDetails extends ClientView {
  readonly subscriptions: readonly SubscriptionView[];
}

/** A session, online (a client is connected to it) or offline (kept for its Session Expiry Interval). */
export interface SessionView {
  readonly clientId: string;
  readonly online: boolean;
  readonly username: string | undefined;
  /** Seconds; 0xFFFFFFFF never expires. */
  readonly expiryInterval: number;
  /** When the client went away (ms since the epoch); 0 while online. */
  readonly disconnectedAt: number;
  readonly subscriptionCount: number;
  readonly queued: number;
  readonly queuedBytes: number;
  readonly inflight: number;
  /** Messages dropped for this session since it began (full queue, slow consumer). */
  readonly dropped: number;
}

export interface SessionDetails extends SessionView {
  readonly subscriptions: readonly SubscriptionView[];
}

export interface SessionListRequest extends PageRequest {
  /** Default 'all'. */
  state?: 'online' | 'offline' | 'all';
}

export interface SubscriptionListRequest extends PageRequest {
  /** Only this client's subscriptions. */
  clientId?: string;
}

export interface RetainedView {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly properties: Properties | undefined;
  /** When it expires (ms since the epoch), 0 for never. */
  readonly expiresAt: number;
}

export interface RetainedListRequest extends PageRequest {
  /** Topic filter to browse; default '#' (which, as in MQTT, does not match `$SYS/...`: ask for '$SYS/#'). */
  filter?: string;
}

/** A message the broker publishes itself (admin API, plugin): it reaches subscribers through their read ACLs. */
export interface PublishRequest {
  topic: string;
  payload?: Buffer | Uint8Array | string;
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 properties (Message Expiry Interval, Content Type, User Properties, ...). */
  properties?: Properties;
}

export interface DisconnectOptions {
  /** MQTT 5 Reason Code sent in the DISCONNECT; default 0x98 Administrative action. */
  reasonCode?: number;
  /** Publish the client's will as at an unclean end; default false (Mosquitto's kick without will). */
  withWill?: boolean;
}

export interface ListenerView {
  /** The port really bound (0 for a Unix socket). */
  readonly port: number;
  readonly description: string;
  readonly protocol: 'mqtt' | 'websockets' | 'http_api';
  readonly tls: boolean;
  readonly mountPoint: string;
}

export interface BrokerStatsView extends BrokerStats {
  /** Open network connections, including those that have not sent CONNECT yet. */
  readonly connections: number;
  readonly clientsConnected: number;
  readonly sessions: number;
  readonly subscriptions: number;
  readonly retained: number;
}

/** Events of the broker and the arguments their listeners get. */
export interface BrokerEvents {
  clientConnected: [client: ClientInfo];
  clientDisconnected: [client: ClientInfo];
  /** Every message accepted; `client` is null for messages not from a client (wills, $SYS, the API). */
  message: [message: Message, client: ClientInfo | null];
  subscribe: [client: ClientInfo, filter: string, qos: QoS];
  unsubscribe: [client: ClientInfo, filter: string];
}

export type BrokerEventName = keyof BrokerEvents;
export type BrokerEventListener<K extends BrokerEventName> = (...args: BrokerEvents[K]) => void;

export interface ClientsApi {
  list(request?: PageRequest): Page<ClientView>;
  get(clientId: string): ClientDetails | undefined;
  /** Connected clients right now. */
  readonly count: number;
}

export interface SessionsApi {
  list(request?: SessionListRequest): Page<SessionView>;
  get(clientId: string): SessionDetails | undefined;
  has(clientId: string): boolean;
  /** Ends a session (disconnecting its client first, without its will); false if there is none. */
  delete(clientId: string): boolean;
  readonly count: number;
}

export interface SubscriptionsApi {
  list(request?: SubscriptionListRequest): Page<SubscriptionView>;
  readonly count: number;
}

export interface RetainedApi {
  list(request?: RetainedListRequest): Page<RetainedView>;
  get(topic: string): RetainedView | undefined;
  /** Removes the retained message of `topic` without publishing anything; false if there was none. */
  delete(topic: string): boolean;
  readonly count: number;
}

/** What a control plane (admin API, plugin) may read and do. */
export interface BrokerControl {
  readonly clients: ClientsApi;
  readonly sessions: SessionsApi;
  readonly subscriptions: SubscriptionsApi;
  readonly retained: RetainedApi;
  /** Publishes as the broker; returns how many subscriptions matched. Throws TypeError for a bad topic. */
  publish(request: PublishRequest): number;
  /** Disconnects a connected client; false if it is not connected. */
  disconnect(clientId: string, options?: DisconnectOptions): boolean;
  /**
   * Disconnects every client whose username is in the set (undefined: clients without one), wills dropped, in
   * one pass (Mosquitto's kick by username, when credentials or roles change); returns how many.
   */
  disconnectClients(usernames: ReadonlySet<string | undefined>): number;
  readonly listeners: readonly ListenerView[];
  readonly stats: BrokerStatsView;
}

/** The broker's typed events (the Broker has them; plugins get the same through their handlers). */
export interface BrokerEventSource {
  on<K extends BrokerEventName>(event: K, listener: BrokerEventListener<K>): this;
  once<K extends BrokerEventName>(event: K, listener: BrokerEventListener<K>): this;
  off<K extends BrokerEventName>(event: K, listener: BrokerEventListener<K>): this;
}
