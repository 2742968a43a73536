// The transport-agnostic broker: sessions, the subscription tree, retained messages, wills, and routing.
// Listeners hand it connections as duplex byte streams; it never touches sockets itself.

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { MemoryStore } from '../persistence/memory-store.js';
import type { PersistenceStore } from '../persistence/store.js';
import type { QoS, Will } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { AuthFailureDelay } from './auth-failure-delay.js';
import { acknowledged, admitBacklogged, checkHeld, queued, SOFT_BACKLOG } from './backpressure.js';
import { fromBridgePeer } from './bridge-peer.js';
import { Connection } from './connection.js';
import { ClientIdentity, foreignSession, mayRead, mayWrite } from './delivery-acl.js';
import { type DropReason, type DropStats, emptyDropStats, recordDrop } from './drops.js';
import type { BrokerHooks, ClientInfo } from './hooks.js';
import type { ListenerContext } from './listener-context.js';
import { type Logger, silentLogger } from './logger.js';
import { Message } from './message.js';
import { type BrokerOptions, defaultBrokerOptions } from './options.js';
import { PreConnectBudget } from './preconnect-budget.js';
import { emptyPublishTrafficStats, type PublishTrafficStats } from './publish-traffic.js';
import { restoreState } from './restore-state.js';
import { RetainedStore } from './retained-store.js';
import { type Delivery, SESSION_NEVER_EXPIRES, Session } from './session.js';
import { redistributeShared } from './shared-redelivery.js';
import type { SubscriptionEntry } from './subscription.js';
import { type ShareGroup, TopicTree } from './topic-tree.js';

export interface BrokerStats extends DropStats, PublishTrafficStats {
  messagesReceived: number;
  messagesSent: number;
  /** Disconnected sessions removed because their expiry interval ran out ($SYS/broker/clients/expired). */
  sessionsExpired: number;
  /** CONNECTs refused for bad credentials or because anonymous clients are not allowed (/metrics). */
  loginsRefused: number;
}

/** Messages published during one routing pass (log lines) that wait for it; more are not published. */
const MAX_DEFERRED = 1000;

interface PendingWill {
  will: Will;
  clientId: string;
  at: number;
  /** Whose will it is: checked against the write ACL when it goes out. */
  owner: ClientIdentity | undefined;
}

export interface BrokerCoreInit {
  options?: Partial<BrokerOptions>;
  logger?: Logger;
  hooks?: BrokerHooks;
  /** Where sessions and messages are kept across restarts; default: nowhere (MemoryStore). */
  store?: PersistenceStore;
}

export class BrokerCore extends EventEmitter {
  readonly options: BrokerOptions;
  readonly logger: Logger;
  readonly hooks: BrokerHooks;
  readonly sessions = new Map<string, Session>();
  readonly tree = new TopicTree();
  readonly retained = new RetainedStore();
  readonly connections = new Set<Connection>();
  /** Failed logins per address, for the Culex-only auth_failure_delay. */
  readonly authFailures: AuthFailureDelay;
  /** Bytes that connections not yet past CONNECT and authentication hold, all together. */
  readonly preConnect: PreConnectBudget;
  readonly stats: BrokerStats = {
    messagesReceived: 0,
    messagesSent: 0,
    ...emptyDropStats(),
    ...emptyPublishTrafficStats(),
    sessionsExpired: 0,
    loginsRefused: 0,
  };
  private readonly pendingWills = new Map<string, PendingWill>();
  /** Clients whose will is saved in the store as armed (persistent session, connected). */
  private readonly armedWills = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;
  private routeStamp = 0;
  /** Set while route() runs; messages published meanwhile wait in `deferred` (bounded by MAX_DEFERRED). */
  private routing = false;
  private deferred: Message[] = [];
  /** The connection whose PUBLISH is being routed, for back-pressure (null for wills and $SYS). */
  private publisher: Connection | null = null;
  readonly store: PersistenceStore;
  /** Connections whose batched output waits for the store's commit (group commit). */
  private heldOutput: Connection[] = [];

  constructor(init: BrokerCoreInit = {}) {
    super();
    this.options = { ...defaultBrokerOptions, ...init.options };
    this.authFailures = new AuthFailureDelay(this.options.authFailureDelay, this.options.authFailureDelayMax);
    this.preConnect = new PreConnectBudget(this.options.maxPreConnectBytes);
    this.logger = init.logger ?? silentLogger;
    this.hooks = init.hooks ?? {};
    this.store = init.store ?? new MemoryStore();
    if (this.store.durable) this.restore();
    this.sweeper = setInterval(sweep, 1000, this);
    this.sweeper.unref();
  }

  /** Loads what the store saved; throws PersistenceError when it cannot be read. */
  private restore(): void {
    const store = this.store;
    const now = this.now;
    const state = store.load(now);
    const counts = restoreState(this, state);
    const fired: PendingWill[] = [];
    for (const w of state.wills) {
      const session = this.sessions.get(w.clientId);
      if (w.dueAt === 0) {
        // An armed will: its client was connected when the broker died, an unclean end [MQTT-3.1.2-8]. As at
        // any disconnection, the Will Delay Interval (capped by the session's expiry) starts now.
        const delay = Math.min(w.delay, session?.expiryInterval ?? 0);
        const pending = { will: w.will, clientId: w.clientId, at: now + delay * 1000, owner: session?.owner };
        if (delay > 0 && session !== undefined) {
          this.pendingWills.set(w.clientId, pending);
          store.saveWill({ clientId: w.clientId, will: w.will, dueAt: pending.at, delay: w.delay });
        } else fired.push(pending);
        continue;
      }
      // A will whose session ended while the broker was down is due at once [MQTT-3.1.3-9].
      const at = session !== undefined ? w.dueAt : 0;
      this.pendingWills.set(w.clientId, { will: w.will, clientId: w.clientId, at, owner: session?.owner });
    }
    this.logger.log(
      'notice',
      `Restored ${counts.sessions} sessions, ${counts.subscriptions} subscriptions, ${counts.messages} queued messages and ${counts.retained} retained messages from ${store.description}.`,
    );
    store.onPending(() => setImmediate(commitTurn, this));
    for (const p of fired) {
      store.deleteWill(p.clientId);
      this.publishWill(p.will, p.clientId, p.owner);
    }
    this.commitNow();
  }

  /**
   * Called by a connection about to send its batched output. With store writes waiting, the output (which may
   * acknowledge them) is held until the commit at the end of this event-loop turn; returns true when held.
   */
  holdOutput(conn: Connection): boolean {
    if (!this.store.holdsOutput) return false;
    this.heldOutput.push(conn);
    return true;
  }

  /** Commits pending store writes now; false when the commit failed (the caller must not send acks). */
  commitNow(): boolean {
    if (!this.store.pending) return true;
    try {
      this.store.commit();
      return true;
    } catch (err) {
      this.logger.log(
        'error',
        `Error: persistence write failed, acknowledgements withheld: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
  }

  /** The group commit: make this turn's writes durable, then release the output they cover. */
  commitTurn(): void {
    const held = this.heldOutput;
    this.heldOutput = [];
    const ok = this.commitNow();
    for (const conn of held) {
      // After a failed commit the acknowledgements must not go out: drop the connection so that the client
      // retries once it reconnects.
      if (ok) conn.flush();
      else conn.stream.destroy();
    }
  }

  /** The hooks of the listener on `port`, for identities restored from the store; the server knows its listeners. */
  hooksForPort(_port: number): BrokerHooks {
    return this.hooks;
  }

  get now(): number {
    return Date.now();
  }

  /** A listener hands over a new connection; the broker owns it from here on. */
  handleConnection(stream: Duplex, context: ListenerContext, remoteAddress: string): Connection {
    const conn = new Connection(this, stream, context, remoteAddress);
    this.connections.add(conn);
    if (this.options.connectionMessages && context.quiet !== true && this.logger.enabled('notice')) {
      this.logger.log('notice', `New connection from ${remoteAddress} on port ${context.port}.`);
    }
    return conn;
  }

  /** Binds a connection to its session (taking over an existing one); returns Session Present. */
  attachSession(conn: Connection, cleanStart: boolean, expiry: number): boolean {
    const clientId = conn.clientId;
    let session = this.sessions.get(clientId);
    const old = session?.connection;
    if (old !== null && old !== undefined) {
      // [MQTT-3.1.4-3] a second connection with the same identifier takes the session over.
      this.logger.log('notice', `Client ${clientId} already connected, closing old connection.`);
      old.takenOver = true;
      // The session lives on (persistent to persistent): Mosquitto drops the old will unsent, as a new
      // connection to the session came before any delay ran out [MQTT-3.1.3-9] 5.0 (docs/compatibility.md).
      if (!cleanStart && session!.expiryInterval > 0) old.will = undefined;
      old.close(false, ReasonCode.SessionTakenOver);
      session = this.sessions.get(clientId);
    }
    // Culex option: a session is not handed to another user; it ends as at a Clean Start (delivery-acl.ts).
    if (session !== undefined && (cleanStart || foreignSession(this.options, session, conn))) {
      // [MQTT-3.1.2-4] Clean Start discards any existing session; its delayed will goes out now, as the
      // session has ended [MQTT-3.1.3-9].
      this.discardSession(session);
      session = undefined;
    }
    // [MQTT-3.1.3-9] a will waiting for its delay is cancelled when the session resumes.
    if (this.pendingWills.delete(clientId) && this.store.durable) this.store.deleteWill(clientId);
    const present = session !== undefined;
    if (session === undefined) {
      session = new Session(clientId);
      this.sessions.set(clientId, session);
    }
    session.expiryInterval = expiry;
    session.connection = conn;
    session.owner = ClientIdentity.of(conn, conn.context.hooks);
    session.disconnectedAt = 0;
    conn.session = session;
    this.persistSession(session);
    // The will of a persistent session is kept while its client is connected, so that a broker crash
    // (an unclean end for the client) still publishes it after the restart.
    const will = conn.will;
    if (session.persisted && will !== undefined) {
      this.store.saveWill({ clientId, will, dueAt: 0, delay: conn.willDelay });
      this.armedWills.add(clientId);
    }
    return present;
  }

  /** Called once the CONNACK is out: resend what was in flight, then the queue [MQTT-4.4.0-1]. */
  clientConnected(conn: Connection): void {
    const session = conn.session!;
    if (session.inflightCount > 0) {
      for (const d of session.inflight.values()) {
        if (d.released) conn.send({ type: 6, packetId: d.packetId, reasonCode: 0 });
        // Resent only if this client may read it now (another user may have resumed the session).
        else if (mayRead(session, d.message.topic))
          conn.sendPublish(d.message, d.qos, d.retain, true, d.packetId, d.subscriptionIds);
        else {
          this.releaseInflight(session, d.packetId, d);
          this.stats.droppedAcl++;
        }
      }
    }
    this.pump(session);
    this.emit('clientConnected', conn as ClientInfo);
  }

  connectionClosed(conn: Connection, graceful: boolean): void {
    this.connections.delete(conn);
    const session = conn.session;
    if (conn.state !== 'connected' || session === null) return;
    const logged = this.options.connectionMessages && !conn.disconnectLogged && conn.context.quiet !== true;
    if (logged && this.logger.enabled('notice')) {
      this.logger.log('notice', `Client ${conn.clientId} ${conn.closeReason ?? 'closed its connection'}.`);
    }
    const now = this.now;
    const own = session.connection === conn;
    if (own) {
      session.connection = null;
      session.disconnectedAt = now;
      // Unacknowledged messages of shared subscriptions go to another member of the group, unless the
      // session is being taken over by a new connection and will resume at once.
      if (!conn.takenOver) redistributeShared(this, session);
    }
    const will = conn.will;
    // The armed copy goes whatever happens: a normal DISCONNECT discards the will, otherwise it is published
    // now or saved below as a delayed will.
    if (own && this.armedWills.delete(conn.clientId)) this.store.deleteWill(conn.clientId);
    // Like Mosquitto, a will goes through the ACL as any PUBLISH of its client would, when it is published
    // (publishWill): a delayed will follows the ACL in force then.
    if (!graceful && will !== undefined) {
      conn.will = undefined;
      // The identity of this connection, not the session's: a takeover may have given it to another user.
      const owner = ClientIdentity.of(conn, conn.context.hooks);
      const delay = Math.min(conn.willDelay, session.expiryInterval);
      // [MQTT-3.1.3-9] MQTT 5 Will Delay Interval: wait, and cancel if the session resumes.
      if (delay > 0 && own) {
        const at = now + delay * 1000;
        this.pendingWills.set(conn.clientId, { will, clientId: conn.clientId, at, owner });
        if (session.persisted) this.store.saveWill({ clientId: conn.clientId, will, dueAt: at, delay });
      } else this.publishWill(will, conn.clientId, owner);
    }
    if (own && session.expiryInterval === 0) this.discardSession(session);
    else if (own) this.persistSession(session);
    this.emit('clientDisconnected', conn as ClientInfo);
  }

  /**
   * Saves a session that outlives its connection (expiry > 0) with what it holds, or forgets a saved one whose
   * expiry became 0. Sessions that end with their connection never touch the store.
   */
  persistSession(session: Session): void {
    if (!this.store.durable) return;
    if (session.expiryInterval === 0) {
      if (session.persisted) this.unpersist(session);
      return;
    }
    const store = this.store;
    const clientId = session.clientId;
    store.saveSession({
      clientId,
      expiryInterval: session.expiryInterval,
      disconnectedAt: session.disconnectedAt,
      username: session.owner?.username,
      listenerPort: session.owner?.listenerPort,
    });
    if (session.persisted) return;
    session.persisted = true;
    // A clean session made persistent (MQTT 5 expiry raised on reconnect): save what it already holds.
    for (const e of session.subscriptions.values()) store.saveSubscription(clientId, e);
    for (const d of session.inflight.values()) if (d.qos > 0) store.addDelivery(clientId, d);
    for (let i = session.queueHead; i < session.queue.length; i++) {
      const d = session.queue[i]!;
      if (d.qos > 0) store.addDelivery(clientId, d);
    }
    for (const id of session.incomingQos2) store.addIncomingQos2(clientId, id);
  }

  private unpersist(session: Session): void {
    session.persisted = false;
    const deliveries = [...session.inflight.values(), ...session.queue.slice(session.queueHead)];
    this.store.deleteSession(session.clientId, deliveries);
  }

  addSubscription(entry: SubscriptionEntry): void {
    entry.session.subscriptions.set(entry.filter, entry);
    this.tree.add(entry);
    if (entry.session.persisted) this.store.saveSubscription(entry.session.clientId, entry);
  }

  /** An existing subscription got new options (SUBSCRIBE to the same filter again). */
  subscriptionChanged(entry: SubscriptionEntry): void {
    if (entry.session.persisted) this.store.saveSubscription(entry.session.clientId, entry);
  }

  removeSubscription(entry: SubscriptionEntry): void {
    entry.session.subscriptions.delete(entry.filter);
    this.tree.remove(entry);
    if (entry.session.persisted) this.store.deleteSubscription(entry.session.clientId, entry.filter);
  }

  /** Incoming QoS 2: PUBREC sent, remembered until PUBREL [MQTT-4.3.3-10]. */
  rememberIncomingQos2(session: Session, packetId: number): void {
    session.incomingQos2.add(packetId);
    if (session.persisted) this.store.addIncomingQos2(session.clientId, packetId);
  }

  /** PUBREL received: forgets the identifier; false when it was unknown. */
  forgetIncomingQos2(session: Session, packetId: number): boolean {
    const known = session.incomingQos2.delete(packetId);
    if (known && session.persisted) this.store.removeIncomingQos2(session.clientId, packetId);
    return known;
  }

  /** A QoS 2 delivery got its PUBREC: only the PUBREL/PUBCOMP exchange is left [MQTT-4.3.3-3]. */
  releaseDelivery(d: Delivery): void {
    d.released = true;
    if (d.storeSeq) this.store.updateDelivery(d);
  }

  /** A delivery leaves this session without completing here (handed to another share group member). */
  forgetDelivery(d: Delivery): void {
    if (d.storeSeq) this.store.removeDelivery(d);
  }

  /**
   * Accepts a message into the broker: retained store, then every matching session. Returns how many
   * subscriptions matched, counting those that get nothing (No Local, read denied), as Mosquitto counts them.
   */
  publish(message: Message, from: Session | null): number {
    this.stats.messagesReceived++;
    // [MQTT-3.3.1-5] store (or with an empty payload delete [MQTT-3.3.1-6]) the retained message of the topic.
    if (message.retain) {
      if (this.store.durable) {
        const previous = this.retained.get(message.topic);
        this.store.setRetained(message.topic, message.payload.length === 0 ? undefined : message, previous);
      }
      this.retained.set(message);
    }
    this.publisher = from?.connection ?? null;
    const matched = this.route(message);
    this.publisher = null;
    if (this.listenerCount('message') > 0) this.emit('message', message, from?.connection ?? null);
    return matched;
  }

  /**
   * Delivers one message to every session with a matching subscription, once per session. Re-entrant: a message
   * published while another is being routed (a log line on `$SYS/broker/log`) is routed after it, as the merge
   * pass below keeps its marks on the sessions.
   */
  route(message: Message): number {
    if (this.routing) {
      if (this.deferred.length < MAX_DEFERRED) this.deferred.push(message);
      return 0;
    }
    const count = this.routeGuarded(message);
    // Iterative, with a budget: a nested message that itself logs while routed cannot recurse or loop for ever.
    let budget = MAX_DEFERRED;
    while (this.deferred.length > 0) {
      const batch = this.deferred;
      this.deferred = [];
      for (let i = 0; i < batch.length && budget > 0; i++, budget--) this.routeGuarded(batch[i]!);
      if (budget === 0) this.deferred.length = 0;
    }
    return count;
  }

  private routeGuarded(message: Message): number {
    this.routing = true;
    try {
      return this.routeOne(message);
    } finally {
      this.routing = false;
    }
  }

  private routeOne(message: Message): number {
    const { entries, groups } = this.tree.match(message.topic);
    if (entries.length === 0 && groups.length === 0) return 0;
    const stamp = ++this.routeStamp;
    // First pass: merge each client's overlapping subscriptions (highest QoS, all identifiers).
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const s = e.session;
      // [MQTT-3.8.3-3] No Local: not back to the client that published it, nor (bridges) to its broker.
      if (e.noLocal && (s.clientId === message.origin || fromBridgePeer(s, message.origin, this.sessions)))
        continue;
      if (s.routeStamp !== stamp) {
        s.routeStamp = stamp;
        s.routeQos = e.qos;
        s.routeRetainAsPublished = e.retainAsPublished;
        s.routeSubscriptionIds = e.identifier === 0 ? undefined : [e.identifier];
      } else {
        if (e.qos > s.routeQos) s.routeQos = e.qos;
        if (e.retainAsPublished) s.routeRetainAsPublished = true;
        if (e.identifier !== 0) {
          if (s.routeSubscriptionIds === undefined) s.routeSubscriptionIds = [e.identifier];
          else s.routeSubscriptionIds.push(e.identifier);
        }
      }
    }
    for (let i = 0; i < entries.length; i++) {
      const s = entries[i]!.session;
      if (s.routeStamp !== stamp || s.routeDone === stamp) continue;
      s.routeDone = stamp;
      this.deliverRouted(s, message, s.routeQos, s.routeRetainAsPublished, s.routeSubscriptionIds);
    }
    for (let i = 0; i < groups.length; i++) {
      this.deliverShared(groups[i]!, message);
    }
    return entries.length + groups.length;
  }

  private deliverRouted(
    s: Session,
    message: Message,
    subQos: QoS,
    rap: boolean,
    subIds: number[] | undefined,
    group?: ShareGroup,
  ): boolean {
    if (!mayRead(s, message.topic)) return false;
    const qos = this.options.upgradeOutgoingQos ? subQos : message.qos < subQos ? message.qos : subQos;
    // [MQTT-3.3.1-12] RETAIN is cleared on normal forwarding unless Retain As Published [MQTT-3.3.1-13].
    this.deliver(s, message, qos, rap && message.retain, subIds, group);
    return true;
  }

  /**
   * One member of a share group gets the message: round-robin, preferring connected members.
   * `exclude` is a member that must not get it (the one it is being taken back from).
   */
  deliverShared(group: ShareGroup, message: Message, exclude?: Session): boolean {
    const members = group.members;
    const n = members.length;
    let chosen: SubscriptionEntry | undefined;
    for (let k = 0; k < n; k++) {
      const e = members[(group.next + k) % n]!;
      if (e.session.connection !== null && e.session !== exclude) {
        chosen = e;
        group.next = (group.next + k + 1) % n;
        break;
      }
    }
    if (chosen === undefined) {
      chosen = members[group.next % n]!;
      group.next = (group.next + 1) % n;
    }
    const subIds = chosen.identifier === 0 ? undefined : [chosen.identifier];
    return this.deliverRouted(chosen.session, message, chosen.qos, chosen.retainAsPublished, subIds, group);
  }

  /** Sends now, queues, or drops (slow consumer) one message for one session. */
  deliver(
    session: Session,
    message: Message,
    qos: QoS,
    retain: boolean,
    subIds: number[] | undefined,
    group?: ShareGroup,
  ): void {
    const conn = session.connection;
    const online = conn !== null && conn.state === 'connected';
    if (qos === 0) {
      if (online) {
        // Slow the publisher rather than lose the message; past its bound a subscriber loses it (backpressure.ts).
        if (
          conn.stream.writableLength > SOFT_BACKLOG &&
          !admitBacklogged(this.publisher, conn, this.now, message.size)
        ) {
          this.drop(session, 'slowConsumer');
          return;
        }
        if (conn.sendPublish(message, 0, retain, false, 0, subIds)) this.stats.messagesSent++;
      } else if (this.options.queueQos0Messages && session.expiryInterval !== 0) {
        this.enqueue(session, {
          message,
          qos,
          retain,
          subscriptionIds: subIds,
          packetId: 0,
          released: false,
        });
      }
      return;
    }
    const d: Delivery = { message, qos, retain, subscriptionIds: subIds, packetId: 0, released: false };
    if (group !== undefined) d.group = group;
    if (online && session.queuedCount === 0 && this.hasInflightRoom(session, conn))
      this.sendInflight(session, conn, d);
    else {
      this.enqueue(session, d);
      if (online && this.publisher !== null) queued(this.publisher, conn, session, this.now);
    }
  }

  /** A QoS 1 / 2 delivery is finished (PUBACK, PUBCOMP, or a failed PUBREC): free its slot. */
  completeDelivery(session: Session, packetId: number, d: Delivery): void {
    this.releaseInflight(session, packetId, d);
    this.pump(session);
    acknowledged(session);
  }

  private releaseInflight(session: Session, packetId: number, d: Delivery): void {
    session.inflight.delete(packetId);
    session.inflightBytes -= d.message.size;
    if (d.storeSeq) this.store.removeDelivery(d);
  }

  /** Moves queued messages to the client while its in-flight window and socket buffer have room. */
  pump(session: Session): void {
    const conn = session.connection;
    if (conn === null || conn.state !== 'connected') return;
    const now = this.now;
    for (let d = session.peekQueued(); d !== undefined; d = session.peekQueued()) {
      if (conn.congested) return;
      if (d.qos > 0 && !this.hasInflightRoom(session, conn)) return;
      session.shiftQueued();
      // [MQTT-3.3.2-5] an expired message is not delivered, nor one the client may no longer read.
      const expired = d.message.isExpired(now);
      if (expired || !mayRead(session, d.message.topic)) {
        if (d.storeSeq) this.store.removeDelivery(d);
        if (expired) this.stats.droppedExpired++;
        else this.stats.droppedAcl++;
        continue;
      }
      if (d.qos > 0) this.sendInflight(session, conn, d);
      else if (conn.sendPublish(d.message, 0, d.retain, false, 0, d.subscriptionIds))
        this.stats.messagesSent++;
    }
  }

  private hasInflightRoom(session: Session, conn: Connection): boolean {
    const max = this.options.maxInflightMessages;
    const limit = max > 0 && max < conn.receiveMaximum ? max : conn.receiveMaximum;
    if (session.inflight.size >= limit) return false;
    const maxBytes = this.options.maxInflightBytes;
    return maxBytes === 0 || session.inflightBytes < maxBytes;
  }

  private sendInflight(session: Session, conn: Connection, d: Delivery): void {
    const q = d.queuedId;
    const id = q !== undefined && q !== 0 && !session.inflight.has(q) ? q : session.allocatePacketId();
    if (id === 0) {
      this.enqueue(session, d);
      return;
    }
    d.packetId = id;
    session.inflight.set(id, d);
    session.inflightBytes += d.message.size;
    // Stored with its identifier before the PUBLISH can leave (output waits for the commit), so that a restart
    // resends it under the same identifier and QoS 2 stays exactly once.
    if (session.persisted) {
      if (d.storeSeq) this.store.updateDelivery(d);
      else this.store.addDelivery(session.clientId, d);
    }
    if (conn.sendPublish(d.message, d.qos, d.retain, false, id, d.subscriptionIds)) this.stats.messagesSent++;
    // Not sendable to this client (over its Maximum Packet Size): free the slot; the caller's loop goes on, so no
    // recursion through pump() however many such messages are queued.
    else this.releaseInflight(session, id, d);
  }

  private enqueue(session: Session, d: Delivery): void {
    if (d.qos > 0 && d.queuedId === undefined) d.queuedId = session.allocatePacketId();
    const maxCount = this.options.maxQueuedMessages;
    const maxBytes = this.options.maxQueuedBytes;
    if (
      (maxCount > 0 && session.queuedCount >= maxCount) ||
      (maxBytes > 0 && session.queuedBytes + d.message.size > maxBytes)
    ) {
      if (d.storeSeq) this.store.removeDelivery(d);
      this.drop(session, 'queueFull');
      return;
    }
    session.enqueue(d);
    // QoS 0 messages are never written: only acknowledged messages must survive a restart.
    if (session.persisted && d.qos > 0 && !d.storeSeq) this.store.addDelivery(session.clientId, d);
  }

  private drop(session: Session, reason: DropReason): void {
    recordDrop(this.stats, this.logger, session, reason);
  }

  /** Publishes a will if its owner may write its topic now (unknown owner: a will restored from an old store). */
  publishWill(will: Will, clientId: string, owner: ClientIdentity | undefined): void {
    if (owner !== undefined && !mayWrite(owner, will.topic, this)) return;
    const expiry = will.properties?.messageExpiryInterval;
    const message = new Message(
      will.topic,
      will.payload,
      will.qos,
      will.retain,
      will.properties,
      clientId,
      expiry === undefined ? 0 : this.now + expiry * 1000,
    );
    if (will.retain) message.source = owner;
    this.publish(message, null);
  }

  /** Ends a session: its subscriptions leave the tree and its queued messages are dropped. */
  discardSession(session: Session): void {
    if (session.persisted) this.unpersist(session);
    if (session.subscriptionCount > 0) {
      for (const entry of session.subscriptions.values()) this.tree.remove(entry);
      session.subscriptions.clear();
    }
    session.clearQueue();
    if (session.inflightCount > 0) session.inflight.clear();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    const pending = this.pendingWills.get(session.clientId);
    if (pending !== undefined) {
      // [MQTT-3.1.3-9] the will goes out when the session ends, if that comes before the delay.
      this.pendingWills.delete(session.clientId);
      if (this.store.durable) this.store.deleteWill(session.clientId);
      this.publishWill(pending.will, pending.clientId, pending.owner);
    }
  }

  /** Runs once a second: keepalive and connect timeouts, delayed wills, session expiry. */
  sweepOnce(now: number): void {
    for (const conn of this.connections) {
      checkHeld(conn, now);
      if (!conn.timedOut(now)) continue;
      if (conn.state === 'connected') {
        conn.closeReason ??= 'has exceeded timeout, disconnecting';
        conn.close(false, ReasonCode.KeepAliveTimeout);
      } else {
        this.logger.log('notice', `Client ${conn.remoteAddress} did not complete CONNECT in time, closing.`);
        conn.close(true);
      }
    }
    for (const [id, pending] of this.pendingWills) {
      if (now < pending.at) continue;
      this.pendingWills.delete(id);
      if (this.store.durable) this.store.deleteWill(id);
      this.publishWill(pending.will, pending.clientId, pending.owner);
    }
    for (const session of this.sessions.values()) {
      if (session.connection !== null || session.expiryInterval === SESSION_NEVER_EXPIRES) continue;
      if (now - session.disconnectedAt >= session.expiryInterval * 1000) {
        this.logger.log('notice', `Expiring client ${session.clientId}.`);
        this.stats.sessionsExpired++;
        this.discardSession(session);
      }
    }
  }

  /** Closes every connection (MQTT 5 clients are told 0x8B Server shutting down) and stops the timers. */
  close(): void {
    clearInterval(this.sweeper);
    for (const conn of [...this.connections]) {
      conn.will = undefined;
      conn.close(true, ReasonCode.ServerShuttingDown);
    }
    // Last writes (sessions now disconnected) are committed, then the database is released.
    this.commitTurn();
    try {
      this.store.close();
    } catch (err) {
      this.logger.log(
        'error',
        `Error: closing persistence: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}

function commitTurn(broker: BrokerCore): void {
  broker.commitTurn();
}

function sweep(broker: BrokerCore): void {
  broker.sweepOnce(Date.now());
}
