// The cluster's store: every persistent session in Redis, keyed by client identifier (redis-keys.ts), so that
// any node can load it. Writes of one event-loop turn go into ONE MULTI, executed by `commit()`, which returns
// its promise: group commit holds the PUBACK / PUBREC it covers until Redis has applied it. Other writers of the
// same turn (cross-node forwards, retained updates) join that MULTI as commit participants.
//
// Ids: the broker numbers messages and deliveries per process (session-journal.ts); in Redis they are named
// `<epoch>.<n>` with an epoch INCR'd once per store opened, so names are unique cluster-wide. What is read back
// gets negative local numbers (the journal's are positive), mapped to the Redis names it came with.

import { type ChainableCommander, describeClient, type RedisClient } from './redis-client.js';
import {
  encodeDelivery,
  encodeDeliveryState,
  encodeMessage,
  encodeSubscription,
  encodeWill,
} from './redis-codec.js';
import { RedisKeys } from './redis-keys.js';
import {
  type ClientState,
  deliveryRecordOf,
  readClient,
  readRetained,
  toRestoredState,
} from './redis-load.js';
import { RedisNames } from './redis-names.js';
import { RedisOwners } from './redis-owner.js';
import { DISOWN, UNREF } from './redis-scripts.js';
import type { CommitParticipant, RedisStoreOptions } from './redis-store-options.js';
import { RedisTurn } from './redis-turn.js';
import type { ReplicaWait } from './redis-wait.js';
import type {
  DeliveryRecord,
  MessageRecord,
  PersistenceStore,
  RestoredState,
  StoredMessage,
  StoredSession,
  StoredWill,
  SubscriptionRecord,
} from './store.js';

export type { CommitParticipant, RedisStoreOptions } from './redis-store-options.js';

const NEVER_EXPIRES = 0xffffffff;

export class RedisStore implements PersistenceStore {
  readonly durable = true;
  readonly description: string;
  readonly keys: RedisKeys;
  readonly nodeId: string;
  readonly redis: RedisClient;
  private readonly storeRetained: boolean;
  private readonly ownsConnection: boolean;
  private readonly wait: ReplicaWait | undefined;
  /** This turn's MULTI and the writers that join it (redis-turn.ts). */
  private readonly turn: RedisTurn;
  /** Client of each delivery this process holds (update / remove carry no client id). */
  private readonly seqClient = new Map<number, string>();
  private readonly names: RedisNames;
  /** Order of deliveries within a session: increasing, and above anything read back. */
  private order: number;
  /** The message last written this turn (a fan-out writes it once). */
  private lastMessage: MessageRecord | undefined = undefined;
  private preloaded: { clients: ClientState[]; retained: StoredMessage[] } | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    options: RedisStoreOptions,
    /** This store's number, unique cluster-wide (INCR'd once per store opened). */
    readonly epoch: number,
  ) {
    this.redis = options.redis;
    this.nodeId = options.nodeId;
    this.keys = new RedisKeys(options.prefix ?? 'culex:');
    this.names = new RedisNames(epoch.toString(36));
    // A message is written once per turn (a fan-out refers to it many times): forgotten at each commit.
    this.turn = new RedisTurn(
      this.redis,
      () => {
        this.lastMessage = undefined;
      },
      options.wait,
    );
    this.owners = new RedisOwners(this.redis, this.keys, this.nodeId, (holds) => this.write(holds));
    this.storeRetained = options.retained ?? true;
    this.ownsConnection = options.ownsConnection ?? false;
    this.wait = options.wait;
    const where = describeClient(options.redis);
    const waits = this.wait === undefined ? '' : `, WAIT ${this.wait.replicas} replicas`;
    this.description = `redis ${where} (${this.keys.prefix}, node ${options.nodeId}${waits})`;
    // Order numbers start from the clock so that another node's (older) ones sort first; loads raise it.
    this.order = Date.now() * 1000;
  }

  /** Opens the store: takes an epoch, then reads what this node owns so that `load()` can hand it over at once. */
  static async open(options: RedisStoreOptions, now = Date.now()): Promise<RedisStore> {
    const keys = new RedisKeys(options.prefix ?? 'culex:');
    const epoch = await options.redis.incr(keys.epoch);
    const store = new RedisStore(options, epoch);
    await store.preload(now);
    return store;
  }

  get pending(): boolean {
    return this.turn.pending;
  }

  get holdsOutput(): boolean {
    return this.turn.holdsOutput;
  }

  onPending(listener: () => void): void {
    this.turn.onPending(listener);
  }

  /** Joins `participant` to every commit; call the returned function when it has writes waiting. */
  addCommitParticipant(participant: CommitParticipant): () => void {
    return this.turn.addParticipant(participant);
  }

  /** The turn's MULTI (`critical`: must be durable before the turn's output). */
  private write(critical = true): ChainableCommander {
    return this.turn.write(critical);
  }

  commit(): Promise<void> | undefined {
    return this.turn.commit();
  }

  close(): void {
    if (this.closing !== undefined) return;
    const done = this.commit() ?? Promise.resolve();
    this.closing = done.finally(() => {
      if (this.ownsConnection) this.redis.disconnect();
    });
    this.closing.catch(() => {});
  }

  /** Resolves once what was written so far is in Redis (the commit scheduled for this turn included). */
  settled(): Promise<void> {
    return this.turn.settled();
  }

  /** Adds a write of another part to this turn's MULTI (it then commits with the store's writes). */
  addToTurn(write: (p: ChainableCommander) => void, holdsOutput = false): void {
    write(this.write(holdsOutput));
  }

  /** Client ids: who holds which (redis-owner.ts). */
  readonly owners: RedisOwners;

  /** Resolves once the last commit (from close()) is through. */
  closed(): Promise<void> {
    return (this.closing ?? Promise.resolve()).catch(() => {});
  }

  // ---- names

  private messageKey(m: MessageRecord): string {
    return this.names.messageKey(m);
  }

  private deliveryField(seq: number): string {
    return this.names.deliveryField(seq);
  }

  private ref(p: ChainableCommander, m: MessageRecord): string {
    const key = this.messageKey(m);
    const name = this.keys.message(key);
    if (this.lastMessage !== m) {
      p.hsetnx(name, 'd', encodeMessage(m));
      this.lastMessage = m;
    }
    p.hincrby(name, 'r', 1);
    this.names.hold(m.id);
    return key;
  }

  private unref(p: ChainableCommander, m: MessageRecord): void {
    p.eval(UNREF, 1, this.keys.message(this.messageKey(m)));
    // Written again if referred to later in this turn: this release may delete it.
    if (this.lastMessage === m) this.lastMessage = undefined;
    this.names.drop(m.id);
  }

  private forget(seq: number): void {
    this.seqClient.delete(seq);
    this.names.forgetField(seq);
  }

  // ---- sessions and subscriptions

  saveSession(s: StoredSession): void {
    const p = this.write();
    const k = this.keys;
    p.hset(k.session(s.clientId), {
      e: s.expiryInterval,
      d: s.disconnectedAt,
      o: JSON.stringify([s.username ?? null, s.listenerPort ?? null]),
    });
    p.hset(k.owner, s.clientId, this.nodeId);
    p.sadd(k.nodeSessions(this.nodeId), s.clientId);
  }

  deleteSession(clientId: string, deliveries: Iterable<DeliveryRecord>): void {
    const p = this.write();
    for (const d of deliveries) {
      if (d.seq === 0) continue;
      this.unref(p, d.message);
      this.forget(d.seq);
    }
    const k = this.keys;
    p.del(...k.allOf(clientId));
    p.eval(DISOWN, 1, k.owner, clientId, this.nodeId);
    p.srem(k.nodeSessions(this.nodeId), clientId);
  }

  /**
   * Forgets a session this node hands to another (takeover, shutdown of its ownership) without touching what
   * Redis holds: the new owner loads it from there.
   */
  release(clientId: string, deliveries: Iterable<DeliveryRecord>): void {
    for (const d of deliveries) {
      if (d.seq === 0) continue;
      this.names.drop(d.message.id);
      this.forget(d.seq);
    }
    this.write(false).srem(this.keys.nodeSessions(this.nodeId), clientId);
  }

  saveSubscription(clientId: string, e: SubscriptionRecord): void {
    this.write().hset(this.keys.subs(clientId), e.filter, encodeSubscription(e));
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.write().hdel(this.keys.subs(clientId), filter);
  }

  // ---- outgoing deliveries

  addDelivery(clientId: string, d: DeliveryRecord): void {
    const p = this.write();
    const key = this.ref(p, d.message);
    const field = this.deliveryField(d.seq);
    this.seqClient.set(d.seq, clientId);
    p.hset(this.keys.deliveries(clientId), field, encodeDelivery(++this.order, key, d));
    if (d.packetId !== 0) p.hset(this.keys.deliveryState(clientId), field, encodeDeliveryState(d));
  }

  updateDelivery(d: DeliveryRecord): void {
    const clientId = this.seqClient.get(d.seq);
    if (clientId === undefined) return;
    // A QoS 1 send may be repeated under a new identifier after a crash; QoS 2 state may not.
    const p = this.write(d.qos === 2);
    p.hset(this.keys.deliveryState(clientId), this.deliveryField(d.seq), encodeDeliveryState(d));
  }

  removeDelivery(d: DeliveryRecord): void {
    const clientId = this.seqClient.get(d.seq);
    if (clientId === undefined) return;
    // Losing this delete means one more delivery after a crash, which QoS 1 allows; for QoS 2 the client
    // answers a resent PUBREL whatever its state.
    const p = this.write(false);
    const field = this.deliveryField(d.seq);
    p.hdel(this.keys.deliveries(clientId), field);
    p.hdel(this.keys.deliveryState(clientId), field);
    this.unref(p, d.message);
    this.forget(d.seq);
  }

  // ---- incoming QoS 2, retained, wills

  addIncomingQos2(clientId: string, packetId: number): void {
    this.write().sadd(this.keys.qos2in(clientId), packetId);
  }

  removeIncomingQos2(clientId: string, packetId: number): void {
    this.write().srem(this.keys.qos2in(clientId), packetId);
  }

  setRetained(topic: string, message: MessageRecord | undefined, previous: MessageRecord | undefined): void {
    if (!this.storeRetained || message === previous) return;
    const p = this.write();
    if (message === undefined) p.hdel(this.keys.retained, topic);
    else p.hset(this.keys.retained, topic, encodeMessage(message));
  }

  saveWill(w: StoredWill): void {
    this.write().set(this.keys.will(w.clientId), encodeWill(w.will, w.dueAt, w.delay));
  }

  deleteWill(clientId: string): void {
    this.write().del(this.keys.will(clientId));
  }

  // ---- reading back

  /**
   * Reads one client's session as Redis holds it now (takeover, adoption): subscriptions, deliveries in creation
   * order with packet ids and QoS 2 state, incoming QoS 2 ids, will. Deliveries of expired messages are
   * dropped from Redis. Undefined when Redis holds no session for it.
   */
  async loadClient(clientId: string, now = Date.now()): Promise<ClientState | undefined> {
    const dropped: Array<{ field: string; messageKey: string }> = [];
    const names = this.names.reader(
      (seq, id) => this.seqClient.set(seq, id),
      (order) => {
        if (order > this.order) this.order = order;
      },
    );
    const state = await readClient(this.redis, this.keys, clientId, names, now, dropped);
    for (const d of state?.deliveries ?? []) this.names.hold(d.message.id);
    // Message ids of this read that no delivery kept (expired) are forgotten again.
    this.names.prune();
    if (dropped.length > 0) {
      const p = this.write(false);
      for (const { field, messageKey } of dropped) {
        p.hdel(this.keys.deliveries(clientId), field);
        p.hdel(this.keys.deliveryState(clientId), field);
        p.eval(UNREF, 1, this.keys.message(messageKey));
      }
    }
    return state;
  }

  private async preload(now: number): Promise<void> {
    const clients: ClientState[] = [];
    for (const id of await this.owners.ownedBy(this.nodeId)) {
      const state = await this.loadClient(id, now);
      if (state !== undefined) clients.push(state);
    }
    const retained = this.storeRetained
      ? await readRetained(this.redis, this.keys, () => this.names.fresh(), now)
      : [];
    this.preloaded = { clients, retained };
  }

  /** What `open()` read, with sessions that expired while nobody held them removed. */
  load(now: number): RestoredState {
    const pre = this.preloaded ?? { clients: [], retained: [] };
    this.preloaded = undefined;
    const live: ClientState[] = [];
    for (const c of pre.clients) {
      const s = c.session;
      // A session whose client was connected when its node stopped counts as disconnected now.
      if (s.disconnectedAt === 0) {
        s.disconnectedAt = now;
        this.saveSession(s);
      }
      if (s.expiryInterval !== NEVER_EXPIRES && s.disconnectedAt + s.expiryInterval * 1000 <= now) {
        this.deleteSession(s.clientId, c.deliveries.map(deliveryRecordOf));
        continue;
      }
      live.push(c);
    }
    return toRestoredState(live, pre.retained);
  }
}
