// A dead node's sessions: the one survivor that reaps it (cl-fabric's membership) takes ownership of each of
// its sessions, loads them as offline sessions (their routes are added with their subscriptions), publishes the
// wills that were armed there (once: ownership moves by compare-and-set), and routes what was left unread in the
// dead node's inbox stream to the sessions it adopted, so that messages acknowledged to their publishers and
// forwarded to the dead node are not lost. Will delay and session expiry go on from the stored deadlines.
//
// Order: the adopted sessions' routes exist before the dead node's are removed (no moment without a route, so
// nothing acknowledged meanwhile goes nowhere); while both exist a publisher may send a message both to the dead
// node's inbox and here. The adoption gate (adoption-gate.ts) lets one copy of each message (by its cluster-wide
// id) reach each adopted session, counting what the session already held, until the dead node's inbox is
// drained for the last time, a grace period after its routes went.

import { topicMatches } from '../auth/topic-match.js';
import type { BrokerCore } from '../broker/broker-core.js';
import type { Message } from '../broker/message.js';
import type { Session } from '../broker/session.js';
import { redistributeShared } from '../broker/shared-redelivery.js';
import type { RedisStore } from '../persistence/redis-store.js';
import type { QoS } from '../protocol/packets.js';
import { AdoptionGate } from './adoption-gate.js';
import type { InRecord } from './message-codec.js';
import type { SessionHandoff } from './session-handoff.js';
import { nextId } from './stream-ids.js';
import { publishOrphanWill } from './will-failover.js';

/** The forwarded publishes of one inbox entry (cl-fabric's codec); empty for other kinds. */
export type InboxDecoder = (kind: string, body: Buffer) => readonly InRecord[];

/** Entries read per XRANGE while draining a dead node's inbox. */
const DRAIN_BATCH = 512;
/** After the dead node's routes are removed, publishers may still send there until they hear of it. */
const GRACE_MS = 1500;

export interface AdoptionCounts {
  sessions: number;
  wills: number;
  drained: number;
}

/** What this node adopted since it started, over every dead node it reaped (/metrics). */
export interface AdoptionTotals extends AdoptionCounts {
  nodes: number;
}

export class SessionAdoption {
  readonly totals: AdoptionTotals = { nodes: 0, sessions: 0, wills: 0, drained: 0 };
  /** Adoptions whose final drain is still to come; takeovers wait for them. */
  private readonly running = new Set<Promise<void>>();
  private readonly gate: AdoptionGate;
  /** Per dead node's inbox: the position after the last entry routed from it here. */
  private readonly cursors = new Map<string, string>();

  constructor(
    private readonly core: BrokerCore,
    private readonly store: RedisStore,
    private readonly handoff: SessionHandoff,
    private readonly inboxKey: (nodeId: string) => string,
    private readonly decode: InboxDecoder,
    private readonly flushRoutes: () => Promise<void> = async () => {},
    /** A node that is up again owns its inbox: it is not drained as a dead node's (nor this node's own). */
    private readonly isAlive: (nodeId: string) => boolean = () => false,
  ) {
    this.gate = new AdoptionGate(core.delivery);
  }

  /** Resolves when no adoption is in progress (a takeover of an adopted session waits for its messages). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /**
   * Takes over what node `deadId` owned: sessions loaded, their routes published, the inbox drained once.
   * Resolves then (the reaper removes the dead node's routes next); a last drain follows after GRACE_MS.
   */
  async adopt(deadId: string): Promise<AdoptionCounts> {
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    this.running.add(done);
    const counts: AdoptionCounts = { sessions: 0, wills: 0, drained: 0 };
    const adopted: Session[] = [];
    const watched: string[] = [];
    let sources = new Map<string, Session[]>();
    try {
      const store = this.store;
      for (const clientId of await store.owners.ownedBy(deadId)) {
        // Watched before it is loaded: no copy reaches it unchecked from the moment its routes exist.
        this.gate.watch(clientId);
        watched.push(clientId);
        if (!(await store.owners.adopt(clientId, deadId))) continue;
        const session = await this.handoff.loadSession(clientId);
        if (session !== undefined) {
          this.gate.seed(session);
          adopted.push(session);
          counts.sessions++;
          continue;
        }
        // A clean session there: nothing to resume, but its armed will goes (once: we won the id).
        if (await publishOrphanWill(this.core, store, clientId)) counts.wills++;
        store.owners.disown(clientId);
        // No session waits for the dead node's inbox (its restart need not wait for this one).
        store.addToTurn((p) => p.hdel(store.keys.adopted, clientId));
      }
      await store.settled();
      await this.flushRoutes();
      // The dead node's inbox, and the one of the node they were adopted from first (a reaper that died).
      sources = await this.sources(adopted, deadId);
      for (const [source, list] of sources) {
        // Nothing adopted from it now, but a session of it is owed its messages by a reaper that died: keep it.
        if (list.length === 0 && (await this.owedElsewhere(source))) continue;
        counts.drained += await this.drain(source, list);
      }
      this.handOnShared(adopted);
    } catch (err) {
      this.finish(watched, done, finish);
      throw err;
    }
    const last = sources;
    const timer = setTimeout(() => {
      this.drainAll(last)
        .then(async () => {
          // Drained for good: a reaper of this node need not look there for them any more.
          const ids = adopted.map((s) => s.clientId);
          if (ids.length > 0) await this.store.redis.hdel(this.store.keys.adopted, ...ids);
        })
        .catch((err: unknown) => {
          this.core.logger.log(
            'error',
            `Cluster: last drain of node ${deadId}'s inbox failed: ${String(err)}`,
          );
        })
        .finally(() => {
          this.handOnShared(adopted);
          this.finish(watched, done, finish);
        });
    }, GRACE_MS);
    timer.unref();
    const totals = this.totals;
    totals.nodes++;
    totals.sessions += counts.sessions;
    totals.wills += counts.wills;
    totals.drained += counts.drained;
    this.core.logger.log(
      'notice',
      `Cluster: node ${deadId} is dead; adopted ${counts.sessions} sessions, published ${counts.wills} wills, routed ${counts.drained} messages left in its inbox.`,
    );
    return counts;
  }

  /**
   * The adopted members of share groups lost their connection with their node: what they held for a group
   * (unacknowledged QoS 1, queued) goes to a connected member, here or on another node, as on a disconnect.
   */
  private handOnShared(adopted: readonly Session[]): void {
    for (const s of adopted)
      if (s.connection === null && this.core.sessions.get(s.clientId) === s) redistributeShared(this.core, s);
  }

  private finish(watched: readonly string[], done: Promise<void>, resolve: () => void): void {
    for (const id of watched) this.gate.unwatch(id);
    this.running.delete(done);
    resolve();
  }

  /**
   * Whose inboxes hold messages for the adopted sessions: the dead node's (all of them) and, for a session
   * adopted before by a reaper that died since, the node it was first adopted from (recorded at adoption).
   */
  private async sources(sessions: readonly Session[], deadId: string): Promise<Map<string, Session[]>> {
    const out = new Map<string, Session[]>([[deadId, [...sessions]]]);
    if (sessions.length === 0) return out;
    const from = await this.store.redis.hmget(this.store.keys.adopted, ...sessions.map((s) => s.clientId));
    sessions.forEach((s, i) => {
      const source = from[i];
      if (source === null || source === undefined || source === deadId) return;
      if (source === this.store.nodeId || this.isAlive(source)) return;
      let list = out.get(source);
      if (list === undefined) {
        list = [];
        out.set(source, list);
      }
      list.push(s);
    });
    return out;
  }

  /** The last drain: every source inbox again, into the same sessions. */
  private async drainAll(sources: ReadonlyMap<string, readonly Session[]>): Promise<void> {
    for (const [source, list] of sources) if (list.length > 0) await this.drain(source, list);
  }

  /** True when a client id adopted from `nodeId` (by a reaper that died since) still waits for its messages. */
  private async owedElsewhere(nodeId: string): Promise<boolean> {
    const all = await this.store.redis.hgetall(this.store.keys.adopted);
    return Object.values(all).includes(nodeId);
  }

  /** Routes the forwarded messages left in `deadId`'s inbox to the sessions adopted from it, then deletes them. */
  private async drain(deadId: string, adopted: readonly Session[]): Promise<number> {
    const key = this.inboxKey(deadId);
    const redis = this.store.redis;
    // Where an earlier drain of this inbox stopped (entries it kept for others are not routed twice).
    let from = this.cursors.get(deadId) ?? '-';
    let routed = 0;
    for (;;) {
      const entries = (await redis.xrangeBuffer(key, from, '+', 'COUNT', DRAIN_BATCH)) as Array<
        [Buffer, Buffer[]]
      >;
      if (entries.length === 0) break;
      let last = '';
      for (const [id, fields] of entries) {
        last = id.toString();
        for (const record of this.decodeEntry(fields)) routed += this.route(record, adopted);
      }
      // The deliveries and the removal of what they came from go in the same MULTI.
      const minId = nextId(last);
      this.store.addToTurn((p) => p.xtrim(key, 'MINID', minId));
      await this.store.settled();
      from = `(${last}`;
      this.cursors.set(deadId, from);
    }
    return routed;
  }

  private decodeEntry(fields: Buffer[]): readonly InRecord[] {
    let kind = '';
    let body: Buffer | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]!.toString();
      if (name === 'k') kind = fields[i + 1]!.toString();
      else if (name === 'b') body = fields[i + 1];
    }
    if (body === undefined) return [];
    try {
      return this.decode(kind, body);
    } catch {
      return [];
    }
  }

  /** Delivers one forwarded message to the adopted sessions it was meant for (merged per session). */
  private route(record: InRecord, sessions: readonly Session[]): number {
    const message = record.message;
    let n = 0;
    if (record.regular) for (const session of sessions) if (this.deliverTo(session, message)) n++;
    for (const g of record.groups) {
      // The dead node had been chosen for this group: one member here gets it (adopted ones included).
      const group = this.core.tree.shareGroup(g.name, g.filter);
      if (group === undefined || !this.gate.firstForGroup(group, message)) continue;
      if (this.core.deliverShared(group, message)) n++;
    }
    return n;
  }

  private deliverTo(session: Session, message: Message): boolean {
    if (this.core.sessions.get(session.clientId) !== session) return false;
    let qos = -1;
    let retain = false;
    let ids: number[] | undefined;
    for (const e of session.subscriptions.values()) {
      if (e.shareGroup !== undefined || !topicMatches(e.matchFilter, message.topic)) continue;
      // [MQTT-3.8.3-3] No Local, with the publisher's client id carried across nodes.
      if (e.noLocal && message.origin === session.clientId) continue;
      if (e.qos > qos) qos = e.qos;
      // [MQTT-3.3.1-12] RETAIN as forwarded: kept only with Retain As Published.
      if (e.retainAsPublished && message.retain) retain = true;
      if (e.identifier > 0) {
        ids ??= [];
        ids.push(e.identifier);
      }
    }
    if (qos < 0) return false;
    this.core.deliver(session, message, Math.min(qos, message.qos) as QoS, retain, ids);
    return true;
  }
}
