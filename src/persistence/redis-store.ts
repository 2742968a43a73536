// The cluster's store: every persistent session in Redis, keyed by client identifier (redis-keys.ts), so that
// any node can load it. Writes of one event-loop turn go into ONE MULTI, executed by `commit()`, which returns
// its promise: group commit holds the PUBACK / PUBREC it covers until Redis has applied it. Other writers of the
// same turn (cross-node forwards, retained updates) join that MULTI as commit participants.
//
// Ids: the broker numbers messages and deliveries per process (session-journal.ts); in Redis they are named
// `<epoch>.<n>` with an epoch INCR'd once per store opened, so names are unique cluster-wide. What is read back
// gets negative local numbers (the journal's are positive), mapped to the Redis names it came with.

import type { ChainableCommander, Redis } from 'ioredis';
import {
  encodeDelivery,
  encodeDeliveryState,
  encodeMessage,
  encodeSubscription,
  encodeWill,
} from './redis-codec.js';
import { RedisKeys } from './redis-keys.js';
import { type ClientState, type LoadedNames, readClient, readRetained } from './redis-load.js';
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

const NEVER_EXPIRES = 0xffffffff;

/** Releases one reference to a message; the message goes with its last one. */
const UNREF = "if redis.call('HINCRBY', KEYS[1], 'r', -1) <= 0 then redis.call('DEL', KEYS[1]) end return 0";
/** Removes an ownership entry only if it is still ours (another node may have taken the session since). */
const DISOWN =
  "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

/**
 * Moves a client id from one owner to another if `from` still owns it ('' = nobody): the owner hash and both
 * nodes' session sets. Returns 1 when moved.
 */
const TRANSFER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[2] ~= '' then redis.call('SREM', KEYS[2], ARGV[1]) end
redis.call('SADD', KEYS[3], ARGV[1])
return 1`;

/** Another writer whose writes must be durable in the same MULTI as the store's (forwarder, retained). */
export interface CommitParticipant {
  readonly pending: boolean;
  readonly holdsOutput: boolean;
  /** Adds its pending writes to the turn's MULTI (called by commit()); the callback hears the outcome. */
  write(pipeline: ChainableCommander): ((ok: boolean) => void) | undefined | void;
  /**
   * While Redis is unreachable the store's MULTI waits for it; a participant with its own bounded buffer for
   * that case commits alone instead (its promise, if any, holds the output it covers).
   */
  commitAlone?(): Promise<void> | undefined;
}

export interface RedisStoreOptions {
  /** The commands connection (not one in subscriber or blocking mode). */
  redis: Redis;
  /** This node; sessions it saves are owned by it. */
  nodeId: string;
  /** Key prefix, default `culex:`. */
  prefix?: string;
  /** Keep retained messages in `<prefix>retained` (default true; false when another part owns that hash). */
  retained?: boolean;
  /** Quit the connection when the store closes (it opened it). */
  ownsConnection?: boolean;
}

export class RedisStore implements PersistenceStore {
  readonly durable = true;
  readonly description: string;
  readonly keys: RedisKeys;
  readonly nodeId: string;
  readonly redis: Redis;
  private readonly epoch: string;
  private readonly storeRetained: boolean;
  private readonly ownsConnection: boolean;
  private multi: ChainableCommander | undefined = undefined;
  private critical = false;
  private pendingListener: (() => void) | undefined;
  private readonly participants: CommitParticipant[] = [];
  /** Client of each delivery this process holds (update / remove carry no client id). */
  private readonly seqClient = new Map<number, string>();
  /** Redis field of each delivery read back (negative seq). */
  private readonly loadedFields = new Map<number, string>();
  /** Redis key of each message read back (negative id), with how many deliveries here refer to it. */
  private readonly loadedMessages = new Map<number, { key: string; n: number }>();
  private nextLoaded = -1;
  /** Order of deliveries within a session: increasing, and above anything read back. */
  private order: number;
  /** The message last written this turn (a fan-out writes it once). */
  private lastMessage: MessageRecord | undefined = undefined;
  private preloaded: { clients: ClientState[]; retained: StoredMessage[] } | undefined;
  private closing: Promise<void> | undefined;
  private lastCommit: Promise<void> = Promise.resolve();

  private constructor(options: RedisStoreOptions, epoch: number) {
    this.redis = options.redis;
    this.nodeId = options.nodeId;
    this.keys = new RedisKeys(options.prefix ?? 'culex:');
    this.epoch = epoch.toString(36);
    this.storeRetained = options.retained ?? true;
    this.ownsConnection = options.ownsConnection ?? false;
    const o = options.redis.options;
    this.description = `redis ${o.host ?? '127.0.0.1'}:${o.port ?? 6379} (${this.keys.prefix}, node ${options.nodeId})`;
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
    if (this.multi !== undefined) return true;
    for (const p of this.participants) if (p.pending) return true;
    return false;
  }

  get holdsOutput(): boolean {
    if (this.critical) return true;
    for (const p of this.participants) if (p.holdsOutput) return true;
    return false;
  }

  onPending(listener: () => void): void {
    this.pendingListener = listener;
  }

  /** Joins `participant` to every commit; call the returned function when it has writes waiting. */
  addCommitParticipant(participant: CommitParticipant): () => void {
    this.participants.push(participant);
    return () => {
      if (this.multi === undefined) this.open();
    };
  }

  /** The turn's MULTI, opened (and the commit scheduled) on its first write. */
  private write(critical = true): ChainableCommander {
    if (critical) this.critical = true;
    return this.multi ?? this.open();
  }

  private open(): ChainableCommander {
    const multi = this.redis.multi();
    this.multi = multi;
    this.pendingListener?.();
    return multi;
  }

  commit(): Promise<void> | undefined {
    if (!this.pending) return undefined;
    let wrote = this.multi !== undefined;
    const multi = this.multi ?? this.redis.multi();
    this.multi = undefined;
    this.critical = false;
    this.lastMessage = undefined;
    let outcomes: Array<(ok: boolean) => void> | undefined;
    let alone: Array<Promise<void>> | undefined;
    const down = this.redis.status !== 'ready';
    for (const p of this.participants) {
      if (!p.pending) continue;
      if (down && p.commitAlone !== undefined) {
        const wait = p.commitAlone();
        if (wait !== undefined) {
          alone ??= [];
          alone.push(wait);
        }
        continue;
      }
      wrote = true;
      const outcome = p.write(multi);
      if (typeof outcome === 'function') {
        outcomes ??= [];
        outcomes.push(outcome);
      }
    }
    let done = wrote ? multi.exec().then(checkReplies) : Promise.resolve();
    if (outcomes !== undefined) {
      const told = outcomes;
      done = done.then(
        () => {
          for (const f of told) f(true);
        },
        (err: unknown) => {
          for (const f of told) f(false);
          throw err;
        },
      );
    }
    if (alone !== undefined) done = Promise.all([done, ...alone]).then(() => undefined);
    this.lastCommit = done.catch(() => {});
    return done;
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
  async settled(): Promise<void> {
    while (this.pending) await new Promise((resolve) => setImmediate(resolve));
    await this.lastCommit;
  }

  /** Adds a write of another part to this turn's MULTI (it then commits with the store's writes). */
  addToTurn(write: (p: ChainableCommander) => void, holdsOutput = false): void {
    write(this.write(holdsOutput));
  }

  /** Takes a client id for this node if `from` ('' = nobody) still owns it; true when taken. */
  async claimOwner(clientId: string, from: string): Promise<boolean> {
    const k = this.keys;
    const moved = await this.redis.eval(
      TRANSFER,
      3,
      k.owner,
      k.nodeSessions(from),
      k.nodeSessions(this.nodeId),
      clientId,
      from,
      this.nodeId,
    );
    return moved === 1;
  }

  /** Hands a client id this node owns to `to`, in this turn's MULTI. */
  transferOwner(clientId: string, to: string): void {
    const k = this.keys;
    this.write().eval(
      TRANSFER,
      3,
      k.owner,
      k.nodeSessions(this.nodeId),
      k.nodeSessions(to),
      clientId,
      this.nodeId,
      to,
    );
  }

  /** A client id this node owned without a stored session (clean session ended) is free again. */
  disown(clientId: string): void {
    const p = this.write(false);
    p.eval(DISOWN, 1, this.keys.owner, clientId, this.nodeId);
    p.srem(this.keys.nodeSessions(this.nodeId), clientId);
  }

  /** Resolves once the last commit (from close()) is through. */
  closed(): Promise<void> {
    return (this.closing ?? Promise.resolve()).catch(() => {});
  }

  // ---- names

  private messageKey(m: MessageRecord): string {
    const id = m.id;
    if (id > 0) return `${this.epoch}.${id}`;
    // A message read back, or one the store never saw under a Redis name (a restored retained message).
    return this.loadedMessages.get(id)?.key ?? `${this.epoch}.n${-id}`;
  }

  private deliveryField(seq: number): string {
    return seq > 0 ? `${this.epoch}.${seq}` : (this.loadedFields.get(seq) ?? `${this.epoch}.n${-seq}`);
  }

  private ref(p: ChainableCommander, m: MessageRecord): string {
    const key = this.messageKey(m);
    const name = this.keys.message(key);
    if (this.lastMessage !== m) {
      p.hsetnx(name, 'd', encodeMessage(m));
      this.lastMessage = m;
    }
    p.hincrby(name, 'r', 1);
    if (m.id < 0) {
      const loaded = this.loadedMessages.get(m.id);
      if (loaded !== undefined) loaded.n++;
    }
    return key;
  }

  private unref(p: ChainableCommander, m: MessageRecord): void {
    p.eval(UNREF, 1, this.keys.message(this.messageKey(m)));
    // Written again if referred to later in this turn: this release may delete it.
    if (this.lastMessage === m) this.lastMessage = undefined;
    if (m.id < 0) {
      const loaded = this.loadedMessages.get(m.id);
      if (loaded !== undefined && --loaded.n <= 0) this.loadedMessages.delete(m.id);
    }
  }

  private forget(seq: number): void {
    this.seqClient.delete(seq);
    if (seq < 0) this.loadedFields.delete(seq);
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
      if (d.message.id < 0) {
        const loaded = this.loadedMessages.get(d.message.id);
        if (loaded !== undefined && --loaded.n <= 0) this.loadedMessages.delete(d.message.id);
      }
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

  /** Names for what a read hands back: local negative numbers, remembered with their Redis names. */
  private names(): LoadedNames {
    const byKey = new Map<string, number>();
    return {
      messageId: (key) => {
        let id = byKey.get(key);
        if (id === undefined) {
          id = this.nextLoaded--;
          byKey.set(key, id);
          this.loadedMessages.set(id, { key, n: 0 });
        }
        return id;
      },
      deliverySeq: (clientId, field) => {
        const seq = this.nextLoaded--;
        this.loadedFields.set(seq, field);
        this.seqClient.set(seq, clientId);
        return seq;
      },
      seenOrder: (order) => {
        if (order > this.order) this.order = order;
      },
    };
  }

  /**
   * Reads one client's session as Redis holds it now (takeover, adoption): subscriptions, deliveries in creation
   * order with packet ids and QoS 2 state, incoming QoS 2 ids, will. Deliveries of expired messages are
   * dropped from Redis. Undefined when Redis holds no session for it.
   */
  async loadClient(clientId: string, now = Date.now()): Promise<ClientState | undefined> {
    const dropped: Array<{ field: string; messageKey: string }> = [];
    const state = await readClient(this.redis, this.keys, clientId, this.names(), now, dropped);
    for (const d of state?.deliveries ?? []) {
      const loaded = this.loadedMessages.get(d.message.id);
      if (loaded !== undefined) loaded.n++;
    }
    // Message ids of this read that no delivery kept (expired) are forgotten again.
    for (const [id, loaded] of this.loadedMessages) if (loaded.n === 0) this.loadedMessages.delete(id);
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

  /** Client ids of the sessions `nodeId` owns (its set, checked against the owner hash). */
  async ownedBy(nodeId: string): Promise<string[]> {
    const ids = await this.redis.smembers(this.keys.nodeSessions(nodeId));
    if (ids.length === 0) return [];
    const owners = await this.redis.hmget(this.keys.owner, ...ids);
    return ids.filter((_, i) => owners[i] === nodeId);
  }

  private async preload(now: number): Promise<void> {
    const clients: ClientState[] = [];
    for (const id of await this.ownedBy(this.nodeId)) {
      const state = await this.loadClient(id, now);
      if (state !== undefined) clients.push(state);
    }
    const retained = this.storeRetained
      ? await readRetained(this.redis, this.keys, () => this.nextLoaded--, now)
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

/** The port's record for a delivery read back (for deleteSession). */
export function deliveryRecordOf(d: ClientState['deliveries'][number]): DeliveryRecord {
  return { ...d, group: undefined };
}

/** Several clients' states as the broker's restore takes them. */
export function toRestoredState(
  clients: readonly ClientState[],
  retained: StoredMessage[] = [],
): RestoredState {
  const state: RestoredState = {
    sessions: [],
    subscriptions: [],
    deliveries: [],
    incomingQos2: [],
    retained,
    wills: [],
  };
  for (const c of clients) {
    state.sessions.push(c.session);
    state.subscriptions.push(...c.subscriptions);
    state.deliveries.push(...c.deliveries);
    state.incomingQos2.push(...c.incomingQos2);
    if (c.will !== undefined) state.wills.push(c.will);
  }
  return state;
}

function checkReplies(replies: Array<[Error | null, unknown]> | null): void {
  if (replies === null) throw new Error('Redis transaction aborted');
  for (const [err] of replies) if (err) throw err;
}
