// A dead node's sessions: the one survivor that reaps it (cl-fabric's membership) takes ownership of each of
// its sessions, loads them as offline sessions (their routes are added with their subscriptions), publishes the
// wills that were armed there (once: ownership moves by compare-and-set), and routes what was left unread in the
// dead node's inbox stream to the sessions it adopted, so that messages acknowledged to their publishers and
// forwarded to the dead node are not lost. Will delay and session expiry go on from the stored deadlines.

import { topicMatches } from '../auth/topic-match.js';
import type { BrokerCore } from '../broker/broker-core.js';
import type { Message } from '../broker/message.js';
import type { Session } from '../broker/session.js';
import type { RedisStore } from '../persistence/redis-store.js';
import type { QoS } from '../protocol/packets.js';
import type { SessionHandoff } from './session-handoff.js';
import { publishOrphanWill } from './will-failover.js';

/** Turns one inbox entry into the message it forwards (cl-fabric's codec); undefined for other kinds. */
export type InboxDecoder = (kind: string, body: Buffer) => Message | undefined;

/** Entries read per XRANGE while draining a dead node's inbox. */
const DRAIN_BATCH = 512;
/** Publishers may still forward to a dead node until the removal of its routes reaches them: drain again. */
const LATE_DRAINS_MS = [1000, 3000];

export interface AdoptionCounts {
  sessions: number;
  wills: number;
  drained: number;
}

export class SessionAdoption {
  constructor(
    private readonly core: BrokerCore,
    private readonly store: RedisStore,
    private readonly handoff: SessionHandoff,
    private readonly inboxKey: (nodeId: string) => string,
    private readonly decode: InboxDecoder,
  ) {}

  /** Takes over what node `deadId` owned; resolves once it is committed to Redis. */
  async adopt(deadId: string): Promise<AdoptionCounts> {
    const store = this.store;
    const counts: AdoptionCounts = { sessions: 0, wills: 0, drained: 0 };
    const adopted: Session[] = [];
    for (const clientId of await store.ownedBy(deadId)) {
      if (!(await store.claimOwner(clientId, deadId))) continue;
      const session = await this.handoff.loadSession(clientId);
      if (session !== undefined) {
        adopted.push(session);
        counts.sessions++;
        continue;
      }
      // A clean session there: nothing to resume, but its armed will goes (once: we won the id).
      if (await publishOrphanWill(this.core, store, clientId)) counts.wills++;
      store.disown(clientId);
    }
    counts.drained = await this.drain(deadId, adopted);
    await store.settled();
    if (adopted.length > 0) {
      for (const delay of LATE_DRAINS_MS) {
        const timer = setTimeout(() => void this.drain(deadId, adopted).catch(() => {}), delay);
        timer.unref();
      }
    }
    this.core.logger.log(
      'notice',
      `Cluster: node ${deadId} is dead; adopted ${counts.sessions} sessions, published ${counts.wills} wills, routed ${counts.drained} messages left in its inbox.`,
    );
    return counts;
  }

  /** Routes the forwarded messages left in `deadId`'s inbox to the sessions adopted from it, then deletes them. */
  private async drain(deadId: string, adopted: readonly Session[]): Promise<number> {
    const key = this.inboxKey(deadId);
    const redis = this.store.redis;
    let from = '-';
    let routed = 0;
    for (;;) {
      const entries = (await redis.xrangeBuffer(key, from, '+', 'COUNT', DRAIN_BATCH)) as Array<
        [Buffer, Buffer[]]
      >;
      if (entries.length === 0) break;
      let last = '';
      for (const [id, fields] of entries) {
        last = id.toString();
        const message = this.decodeEntry(fields);
        if (message !== undefined) routed += this.route(message, adopted);
      }
      // The deliveries and the removal of what they came from go in the same MULTI.
      this.store.addToTurn((p) => p.xtrim(key, 'MINID', nextId(last)));
      await this.store.settled();
      from = `(${last}`;
    }
    return routed;
  }

  private decodeEntry(fields: Buffer[]): Message | undefined {
    let kind = '';
    let body: Buffer | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]!.toString();
      if (name === 'k') kind = fields[i + 1]!.toString();
      else if (name === 'b') body = fields[i + 1];
    }
    return body === undefined ? undefined : this.decode(kind, body);
  }

  /** Delivers `message` to the adopted sessions whose subscriptions match it (merged per session). */
  private route(message: Message, sessions: readonly Session[]): number {
    let n = 0;
    for (const session of sessions) {
      if (this.core.sessions.get(session.clientId) !== session) continue;
      let qos = -1;
      let retain = false;
      let ids: number[] | undefined;
      for (const e of session.subscriptions.values()) {
        if (!topicMatches(e.matchFilter, message.topic)) continue;
        if (e.noLocal && message.origin === session.clientId) continue;
        if (e.qos > qos) qos = e.qos;
        // [MQTT-3.3.1-12] RETAIN as forwarded: kept only with Retain As Published.
        if (e.retainAsPublished && message.retain) retain = true;
        if (e.identifier > 0) {
          ids ??= [];
          ids.push(e.identifier);
        }
      }
      if (qos < 0) continue;
      this.core.deliver(session, message, Math.min(qos, message.qos) as QoS, retain, ids);
      n++;
    }
    return n;
  }
}

/** The stream id right after `id` (XTRIM MINID keeps ids >= its argument). */
function nextId(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}
