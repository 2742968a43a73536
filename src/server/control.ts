// The typed control surface (broker-api.ts) implemented on the core: read-only snapshots of clients, sessions,
// subscriptions and retained messages, and the few actions a control plane needs. Everything here that reads
// core internals is in this one file, so a change inside the core touches the API in one place.

import { Buffer } from 'node:buffer';
import type { BrokerCore } from '../broker/broker-core.js';
import { Message } from '../broker/message.js';
import type { Session } from '../broker/session.js';
import type { SubscriptionEntry } from '../broker/subscription.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { validateTopicFilter, validateTopicName } from '../protocol/topic.js';
import type {
  ClientDetails,
  ClientsApi,
  ClientView,
  DisconnectOptions,
  Page,
  PageRequest,
  PublishRequest,
  RetainedApi,
  RetainedListRequest,
  RetainedView,
  SessionDetails,
  SessionListRequest,
  SessionsApi,
  SessionView,
  SubscriptionListRequest,
  SubscriptionsApi,
  SubscriptionView,
} from './broker-api.js';
import { Paginator } from './pagination.js';

/** Mosquitto 2.0's words for a client kicked by a plugin (MOSQ_ERR_ADMINISTRATIVE_ACTION). */
const KICKED = 'been disconnected by administrative action';

function subscriptionView(clientId: string, e: SubscriptionEntry): SubscriptionView {
  return {
    clientId,
    filter: e.filter,
    shareGroup: e.shareGroup,
    qos: e.qos,
    noLocal: e.noLocal,
    retainAsPublished: e.retainAsPublished,
    retainHandling: e.retainHandling,
    identifier: e.identifier,
  };
}

function subscriptionsOf(session: Session): SubscriptionView[] {
  if (session.subscriptionCount === 0) return [];
  return [...session.subscriptions.values()].map((e) => subscriptionView(session.clientId, e));
}

function onlineConnection(session: Session | undefined) {
  const conn = session?.connection;
  return conn !== null && conn !== undefined && conn.state === 'connected' ? conn : undefined;
}

function retainedView(m: Message): RetainedView {
  return { topic: m.topic, payload: m.payload, qos: m.qos, properties: m.properties, expiresAt: m.expiresAt };
}

export class CoreControl {
  private readonly pages = new Paginator();

  constructor(private readonly core: BrokerCore) {
    // Live counts: defined as getters on the API objects, which are plain literals above.
    const counts: [object, () => number][] = [
      [this.clients, () => this.clientCount],
      [this.sessions, () => core.sessions.size],
      [this.subscriptions, () => core.tree.size],
      [this.retained, () => core.retained.size],
    ];
    for (const [api, count] of counts) Object.defineProperty(api, 'count', { get: count, enumerable: true });
  }

  readonly clients: ClientsApi = {
    list: (request?: PageRequest): Page<ClientView> =>
      this.pages.page(
        request,
        () => this.connectedIds(),
        (id) => this.clientView(id),
      ),
    get: (clientId: string): ClientDetails | undefined => {
      const view = this.clientView(clientId);
      const session = this.core.sessions.get(clientId);
      return view === undefined || session === undefined
        ? undefined
        : { ...view, subscriptions: subscriptionsOf(session) };
    },
    count: 0,
  };

  readonly sessions: SessionsApi = {
    list: (request?: SessionListRequest): Page<SessionView> => {
      const state = request?.state ?? 'all';
      return this.pages.page(
        request,
        () => this.sessionIds(state),
        (id) => this.sessionView(id),
      );
    },
    get: (clientId: string): SessionDetails | undefined => {
      const session = this.core.sessions.get(clientId);
      const view = this.sessionView(clientId);
      return view === undefined || session === undefined
        ? undefined
        : { ...view, subscriptions: subscriptionsOf(session) };
    },
    has: (clientId: string): boolean => this.core.sessions.has(clientId),
    delete: (clientId: string): boolean => this.deleteSession(clientId),
    count: 0,
  };

  readonly subscriptions: SubscriptionsApi = {
    list: (request?: SubscriptionListRequest): Page<SubscriptionView> =>
      this.pages.page(
        request,
        () => this.subscriptionEntries(request?.clientId),
        (e) => this.liveSubscription(e),
      ),
    count: 0,
  };

  readonly retained: RetainedApi = {
    list: (request?: RetainedListRequest): Page<RetainedView> => {
      const filter = request?.filter ?? '#';
      if (validateTopicFilter(filter) !== null) throw new TypeError(`invalid topic filter: ${filter}`);
      return this.pages.page(
        request,
        () => this.core.retained.match(filter, this.core.now),
        (m) => (this.core.retained.get(m.topic) === m ? retainedView(m) : undefined),
      );
    },
    get: (topic: string): RetainedView | undefined => {
      const m = this.core.retained.get(topic);
      return m === undefined || m.isExpired(this.core.now) ? undefined : retainedView(m);
    },
    delete: (topic: string): boolean => this.deleteRetained(topic),
    count: 0,
  };

  /** Connected clients now. */
  get clientCount(): number {
    let n = 0;
    for (const conn of this.core.connections) if (conn.state === 'connected') n++;
    return n;
  }

  publish(request: PublishRequest): number {
    const { topic } = request;
    if (typeof topic !== 'string' || validateTopicName(topic) !== null)
      throw new TypeError(`invalid topic name: ${String(topic)}`);
    const qos = request.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new TypeError(`invalid QoS: ${String(qos)}`);
    const raw = request.payload ?? Buffer.alloc(0);
    const payload =
      typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    const expiry = request.properties?.messageExpiryInterval;
    const message = new Message(
      topic,
      payload,
      qos,
      request.retain ?? false,
      request.properties,
      '',
      expiry === undefined ? 0 : this.core.now + expiry * 1000,
    );
    return this.core.publish(message, null);
  }

  disconnect(clientId: string, options: DisconnectOptions = {}): boolean {
    const conn = onlineConnection(this.core.sessions.get(clientId));
    if (conn === undefined) return false;
    if (options.withWill !== true) conn.will = undefined;
    conn.closeReason ??= KICKED;
    conn.close(false, options.reasonCode ?? ReasonCode.AdministrativeAction);
    return true;
  }

  private deleteSession(clientId: string): boolean {
    if (!this.core.sessions.has(clientId)) return false;
    this.disconnect(clientId);
    // Closing a clean session already ended it; a persistent one lives on until discarded here.
    const session = this.core.sessions.get(clientId);
    if (session !== undefined) this.core.discardSession(session);
    return true;
  }

  private deleteRetained(topic: string): boolean {
    const core = this.core;
    const previous = core.retained.get(topic);
    if (previous === undefined) return false;
    if (core.store.durable) core.store.setRetained(topic, undefined, previous);
    // An empty retained message removes the entry [MQTT-3.3.1-6]; set directly, it reaches no subscriber.
    core.retained.set(new Message(topic, Buffer.alloc(0), 0, true, undefined, '', 0));
    return true;
  }

  private connectedIds(): string[] {
    const ids: string[] = [];
    for (const conn of this.core.connections) if (conn.state === 'connected') ids.push(conn.clientId);
    return ids;
  }

  private sessionIds(state: 'online' | 'offline' | 'all'): string[] {
    if (state === 'all') return [...this.core.sessions.keys()];
    const ids: string[] = [];
    const online = state === 'online';
    for (const s of this.core.sessions.values()) if ((s.connection !== null) === online) ids.push(s.clientId);
    return ids;
  }

  private subscriptionEntries(clientId: string | undefined): SubscriptionEntry[] {
    if (clientId !== undefined) {
      const session = this.core.sessions.get(clientId);
      return session === undefined || session.subscriptionCount === 0
        ? []
        : [...session.subscriptions.values()];
    }
    const all: SubscriptionEntry[] = [];
    for (const s of this.core.sessions.values()) {
      if (s.subscriptionCount > 0) for (const e of s.subscriptions.values()) all.push(e);
    }
    return all;
  }

  private liveSubscription(e: SubscriptionEntry): SubscriptionView | undefined {
    const s = e.session;
    if (this.core.sessions.get(s.clientId) !== s || s.subscriptions.get(e.filter) !== e) return undefined;
    return subscriptionView(s.clientId, e);
  }

  private clientView(clientId: string): ClientView | undefined {
    const session = this.core.sessions.get(clientId);
    const conn = onlineConnection(session);
    if (session === undefined || conn === undefined) return undefined;
    return {
      clientId,
      username: conn.username,
      remoteAddress: conn.remoteAddress,
      listenerPort: conn.listenerPort,
      protocolVersion: conn.protocolVersion,
      keepAlive: conn.keepAlive,
      connectedAt: conn.connectedAt,
      subscriptionCount: session.subscriptionCount,
      queued: session.queuedCount,
      inflight: session.inflightCount,
    };
  }

  private sessionView(clientId: string): SessionView | undefined {
    const s = this.core.sessions.get(clientId);
    if (s === undefined) return undefined;
    return {
      clientId,
      online: s.connection !== null,
      username: s.owner?.username ?? s.connection?.username,
      expiryInterval: s.expiryInterval,
      disconnectedAt: s.disconnectedAt,
      subscriptionCount: s.subscriptionCount,
      queued: s.queuedCount,
      queuedBytes: s.queuedBytes,
      inflight: s.inflightCount,
      dropped: s.dropped,
    };
  }
}
