// The transport-agnostic broker core: the facade over its parts — session registry, router, delivery engine,
// will scheduler, retained store, group commit — that the packet handlers and the server layer use.
// Listeners hand it connections as duplex byte streams; it never touches sockets or files itself.

import { EventEmitter } from 'node:events';
import type { QoS, Will } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { AuthFailureDelay } from './auth-failure-delay.js';
import { clientFlowControl } from './client-flow.js';
import { type Clock, systemClock } from './clock.js';
import type { ClusterHook, RouteListener } from './cluster-hook.js';
import { ClusterPublishPipeline } from './cluster-pipeline.js';
import { Connection } from './connection.js';
import { type ClientIdentity, mayWrite } from './delivery-acl.js';
import { DeliveryEngine } from './delivery-engine.js';
import { clientConnectChannel, type PublishOrigin, traceClient } from './diagnostics.js';
import { type CommitParticipant, GroupCommit } from './group-commit.js';
import type { BrokerHooks, ClientInfo } from './hooks.js';
import type { ListenerContext } from './listener-context.js';
import { type Logger, silentLogger } from './logger.js';
import { heapAndExternal, MemoryLimit } from './memory-limit.js';
import { Message } from './message.js';
import { type BrokerOptions, defaultBrokerOptions } from './options.js';
import type { PersistenceStore } from './persistence-port.js';
import { MemoryStore } from './persistence-port.js';
import { PreConnectBudget } from './preconnect-budget.js';
import { type PublishInterceptor, PublishPipeline } from './publish-pipeline.js';
import { restoreState } from './restore-state.js';
import { type RetainedStore, TrieRetainedStore } from './retained-store.js';
import { Router } from './router.js';
import type { Delivery, Session } from './session.js';
import { SessionJournal } from './session-journal.js';
import { attachSession, connectionClosed, discardSession, expireSessions } from './session-lifecycle.js';
import { LocalSessionRegistry, type SessionRegistry } from './session-registry.js';
import { type BrokerStats, emptyBrokerStats } from './stats.js';
import type { ByteStream } from './stream-listeners.js';
import type { SubscriptionEntry } from './subscription.js';
import { sweepConnections } from './timeouts.js';
import type { ShareGroup, TopicTree } from './topic-tree.js';
import { LocalWillScheduler, type WillScheduler } from './will-scheduler.js';

export type { BrokerStats } from './stats.js';

export interface BrokerCoreInit {
  options?: Partial<BrokerOptions>;
  logger?: Logger;
  hooks?: BrokerHooks;
  /** Where sessions and messages are kept across restarts; default: nowhere (MemoryStore). */
  store?: PersistenceStore;
  /** Time and timers; default: the system clock. Tests pass a VirtualClock. */
  clock?: Clock;
  /** Bytes in use, for memory_limit; default: V8 heap in use plus external memory. */
  memoryUsage?: () => number;
}

export class BrokerCore extends EventEmitter {
  readonly options: BrokerOptions;
  readonly logger: Logger;
  readonly hooks: BrokerHooks;
  readonly clock: Clock;
  /** clock.now() at start: connections keep their times relative to it (small integers, no heap numbers). */
  readonly epoch: number;
  readonly sessions: SessionRegistry = new LocalSessionRegistry();
  readonly router: Router = new Router(this.sessions);
  /** Replaced by a cluster (at its start) with a store that shares retained messages through Redis. */
  retained: RetainedStore = new TrieRetainedStore();
  readonly connections = new Set<Connection>();
  /** Failed logins per address, for the Culex-only auth_failure_delay. */
  readonly authFailures: AuthFailureDelay;
  /** Bytes that connections not yet past CONNECT and authentication hold, all together. */
  readonly preConnect: PreConnectBudget;
  /** memory_limit; undefined without one (nothing measured, nothing checked). */
  readonly memory: MemoryLimit | undefined;
  /**
   * Cluster mode: claims a client id cluster-wide at CONNECT, before the session is attached (the connection
   * of that client on another node is closed, its session handed over). Undefined on a single node.
   */
  sessionClaim: ((clientId: string, cleanStart: boolean) => Promise<void>) | undefined = undefined;
  readonly stats: BrokerStats = emptyBrokerStats();
  readonly store: PersistenceStore;
  readonly delivery: DeliveryEngine;
  readonly wills: WillScheduler;
  /** Writes session state changes through to the store. */
  readonly journal: SessionJournal;
  private readonly commits: GroupCommit;
  private readonly sweeper;
  private pipeline: PublishPipeline = new PublishPipeline(this);

  constructor(init: BrokerCoreInit = {}) {
    super();
    this.options = { ...defaultBrokerOptions, ...init.options };
    this.authFailures = new AuthFailureDelay(this.options.authFailureDelay, this.options.authFailureDelayMax);
    this.preConnect = new PreConnectBudget(this.options.maxPreConnectBytes);
    this.logger = init.logger ?? silentLogger;
    this.hooks = init.hooks ?? {};
    this.clock = init.clock ?? systemClock;
    this.epoch = this.clock.now();
    const limit = this.options.memoryLimit;
    this.memory =
      limit > 0
        ? new MemoryLimit(limit, init.memoryUsage ?? heapAndExternal, this.logger, this.clock)
        : undefined;
    this.store = init.store ?? new MemoryStore();
    this.commits = new GroupCommit(this.store, this.logger);
    this.journal = new SessionJournal(this.store);
    this.delivery = new DeliveryEngine({
      options: this.options,
      stats: this.stats,
      logger: this.logger,
      journal: this.journal,
      clock: this.clock,
      flow: clientFlowControl,
    });
    this.wills = new LocalWillScheduler(this.store, (will, clientId, owner) =>
      this.publishWill(will, clientId, owner),
    );
    if (this.store.durable) this.restore();
    this.sweeper = this.clock.setInterval(sweep, 1000, this);
    this.sweeper.unref();
  }

  /** The subscription index (the router's topic tree). */
  get tree(): TopicTree {
    return this.router.tree;
  }

  /** Loads what the store saved; throws PersistenceError when it cannot be read. */
  private restore(): void {
    const store = this.store;
    const now = this.now;
    const state = store.load(now);
    const counts = restoreState(this, state);
    this.logger.log(
      'notice',
      `Restored ${counts.sessions} sessions, ${counts.subscriptions} subscriptions, ${counts.messages} queued messages and ${counts.retained} retained messages from ${store.description}.`,
    );
    store.onPending(() => setImmediate(commitTurn, this));
    this.wills.restore(state.wills, this.sessions, now);
    this.commitNow();
  }

  /**
   * Called by a connection about to send its batched output. With store writes waiting, the output (which may
   * acknowledge them) is held until the commit at the end of this event-loop turn; returns true when held.
   */
  holdOutput(conn: Connection): boolean {
    return this.commits.hold(conn);
  }

  /** Commits pending store writes now; false when the commit failed (the caller must not send acks). */
  commitNow(): boolean {
    return this.commits.commitNow();
  }

  /** The group commit: make this turn's writes durable, then release the output they cover. */
  /** Group commits started so far (a connection's output knows which commit it waits for). */
  get commitTurns(): number {
    return this.commits.turns;
  }

  commitTurn(): void {
    this.commits.commitTurn();
  }

  /** The hooks of the listener on `port`, for identities restored from the store; the server knows its listeners. */
  hooksForPort(_port: number): BrokerHooks {
    return this.hooks;
  }

  get now(): number {
    return this.clock.now();
  }

  /** A listener hands over a new connection; the broker owns it from here on (undefined: refused, closed). */
  handleConnection(
    stream: ByteStream,
    context: ListenerContext,
    remoteAddress: string,
  ): Connection | undefined {
    if (this.memory?.over === true) {
      // Over memory_limit Mosquitto cannot allocate the client: it closes the socket without a word.
      this.stats.memoryRefusedConnections++;
      stream.destroy();
      return undefined;
    }
    const conn = new Connection(this, stream, context, remoteAddress);
    this.connections.add(conn);
    if (this.options.connectionMessages && context.quiet !== true && this.logger.enabled('notice')) {
      this.logger.log('notice', `New connection from ${remoteAddress} on port ${context.port}.`);
    }
    return conn;
  }

  /** Binds a connection to its session (taking over an existing one); returns Session Present. */
  attachSession(conn: Connection, cleanStart: boolean, expiry: number): boolean {
    return attachSession(this, conn, cleanStart, expiry);
  }

  /** Called once the CONNACK is out: resend what was in flight, then the queue [MQTT-4.4.0-1]. */
  clientConnected(conn: Connection): void {
    this.delivery.resume(conn.session!, conn);
    this.emit('clientConnected', conn as ClientInfo);
    if (clientConnectChannel.hasSubscribers) traceClient(clientConnectChannel, conn);
  }

  /** A connection ended; `graceful` = the client sent DISCONNECT (no will). */
  connectionClosed(conn: Connection, graceful: boolean): void {
    connectionClosed(this, conn, graceful);
  }

  /** Saves a session that outlives its connection, or forgets a saved one whose expiry became 0. */
  persistSession(session: Session): void {
    this.journal.persist(session);
  }

  addSubscription(entry: SubscriptionEntry): void {
    entry.session.subscriptions.set(entry.filter, entry);
    this.router.add(entry);
    this.journal.saveSubscription(entry);
  }

  /** An existing subscription got new options (SUBSCRIBE to the same filter again). */
  subscriptionChanged(entry: SubscriptionEntry): void {
    this.journal.saveSubscription(entry);
  }

  removeSubscription(entry: SubscriptionEntry): void {
    entry.session.subscriptions.delete(entry.filter);
    this.router.remove(entry);
    this.journal.deleteSubscription(entry);
  }

  /** Incoming QoS 2: PUBREC sent, remembered until PUBREL [MQTT-4.3.3-10]. */
  rememberIncomingQos2(session: Session, packetId: number): void {
    session.incomingQos2.add(packetId);
    this.journal.addIncomingQos2(session, packetId);
  }

  /** PUBREL received: forgets the identifier; false when it was unknown. */
  forgetIncomingQos2(session: Session, packetId: number): boolean {
    const known = session.incomingQos2.delete(packetId);
    if (known) this.journal.removeIncomingQos2(session, packetId);
    return known;
  }

  /** A QoS 2 delivery got its PUBREC: only the PUBREL/PUBCOMP exchange is left [MQTT-4.3.3-3]. */
  releaseDelivery(d: Delivery): void {
    this.delivery.releaseDelivery(d);
  }

  /** A delivery leaves this session without completing here (handed to another share group member). */
  forgetDelivery(d: Delivery): void {
    this.delivery.forgetDelivery(d);
  }

  /**
   * The one entry for every message (publish-pipeline.ts): interceptors, retained store, every matching session.
   * Returns how many subscriptions matched, counting those that get nothing, as Mosquitto counts them.
   */
  publish(message: Message, from: Session | null, origin?: PublishOrigin): number {
    return this.pipeline.publish(message, from, origin ?? (from === null ? 'plugin' : 'client'));
  }

  /** Routes without the other stages (kept for callers of the old entry; use publish(message, null, 'log')). */
  route(message: Message): number {
    return this.pipeline.route(message);
  }

  /** One member of a share group gets the message; `exclude` must not (the one it is being taken back from). */
  deliverShared(group: ShareGroup, message: Message, exclude?: Session): boolean {
    return this.pipeline.deliverShared(group, message, exclude);
  }

  /** Whether a member leaving `group` has another to hand its messages to (shared-redelivery.ts). */
  canHandOn(group: ShareGroup, leaving: Session): boolean {
    return this.pipeline.canHandOn(group, leaving);
  }

  /** An on-publish hook point: `interceptor` sees every message first and may consume it (returns true). */
  addPublishInterceptor(interceptor: PublishInterceptor): void {
    this.pipeline.addInterceptor(interceptor);
  }

  removePublishInterceptor(interceptor: PublishInterceptor): void {
    this.pipeline.removeInterceptor(interceptor);
  }

  /**
   * Cluster mode (src/cluster): forwarding after local routing, the cluster-wide share group choice, and the
   * route table told of subscription changes. `undefined` detaches.
   */
  attachCluster(hook: ClusterHook | undefined, routes: RouteListener | undefined): void {
    const previous = this.pipeline;
    this.pipeline =
      hook === undefined
        ? new PublishPipeline(this, previous)
        : new ClusterPublishPipeline(this, hook, previous);
    this.router.listener = routes;
  }

  /** One member of a share group on this node gets the message (a member another node chose for it). */
  deliverSharedHere(group: ShareGroup, message: Message): boolean {
    return this.pipeline.deliverHere(group, message);
  }

  /** Writes that join each turn's commit (output waits for them too); returns what schedules that commit. */
  addCommitParticipant(participant: CommitParticipant): () => void {
    this.commits.addParticipant(participant);
    return () => setImmediate(commitTurn, this);
  }

  removeCommitParticipant(participant: CommitParticipant): void {
    this.commits.removeParticipant(participant);
  }

  /** Sends now, queues, or drops (slow consumer) one message for one session (delivery-engine.ts). */
  deliver(
    session: Session,
    message: Message,
    qos: QoS,
    retain: boolean,
    subIds: number[] | undefined,
    group?: ShareGroup,
  ): void {
    this.delivery.deliver(session, message, qos, retain, subIds, group);
  }

  /** A QoS 1 / 2 delivery is finished (PUBACK, PUBCOMP, or a failed PUBREC): free its slot. */
  completeDelivery(session: Session, packetId: number, d: Delivery): void {
    this.delivery.completeDelivery(session, packetId, d);
  }

  /** Moves queued messages to the client while its in-flight window and socket buffer have room. */
  pump(session: Session): void {
    this.delivery.pump(session);
  }

  /** Publishes a will if its owner may write its topic now (unknown owner: a will restored from an old store). */
  publishWill(will: Will, clientId: string, owner: ClientIdentity | undefined): void {
    if (owner !== undefined && !mayWrite(owner, will.topic, this, will)) return;
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
    this.publish(message, null, 'will');
  }

  /** Ends a session: its subscriptions leave the tree and its queued messages are dropped. */
  discardSession(session: Session): void {
    discardSession(this, session);
  }

  /** Runs once a second: keepalive and connect timeouts, delayed wills, session expiry. */
  sweepOnce(now: number): void {
    sweepConnections(this.connections, this.logger, now);
    this.wills.runDue(now);
    expireSessions(this, now);
  }

  /** Closes every connection (MQTT 5 clients are told 0x8B Server shutting down) and stops the timers. */
  close(): void {
    this.clock.clearTimer(this.sweeper);
    this.memory?.stop();
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
  broker.sweepOnce(broker.now);
}
