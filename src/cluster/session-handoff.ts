// Sessions across nodes: at CONNECT a node claims the client id cluster-wide (core.sessionClaim). The owner is
// in Redis (`owner` hash); a live owner is asked to hand the session over ('takeover'): it closes its
// connection (0x8E for MQTT 5, once, with Mosquitto's log line), commits, forgets the session (Redis keeps it),
// and passes ownership on; the claiming node then reads the session from Redis (subscriptions, queued and
// in-flight deliveries with packet ids, QoS 2 state, will) and attaches it. A dead owner's sessions are taken.

import type { BrokerCore } from '../broker/broker-core.js';
import { restoreState } from '../broker/restore-state.js';
import type { Session } from '../broker/session.js';
import { toRestoredState } from '../persistence/redis-load.js';
import type { RedisStore } from '../persistence/redis-store.js';
import { ReasonCode } from '../protocol/reason-codes.js';

/** What the handoff needs of the node-to-node channel (cl-fabric's NodeLink). */
export interface HandoffLink {
  readonly nodeId: string;
  isAlive(nodeId: string): boolean;
  request(to: string, kind: string, body: Buffer | string, timeoutMs: number): Promise<Buffer>;
  onMessage(kind: string, handler: (body: Buffer, from: string) => Promise<string>): void;
}

export const TAKEOVER = 'takeover';
/**
 * How long a CONNECT may wait for its client id: an owner that died is not taken from directly but left to the
 * one node that reaps it (which also routes what the dead node left unread); that takes up to the node timeout.
 */
const CLAIM_MS = 15_000;
/** Between looks at the owner of a client id while its dead owner is being reaped. */
const CLAIM_POLL_MS = 100;

interface TakeoverRequest {
  c: string;
  /** Clean Start of the new connection. */
  s: boolean;
  /** When the asking node gives up waiting (its clock, ms since the epoch). */
  t?: number;
}

export class SessionHandoff {
  /** Set once adoption runs: takeovers wait for adoptions in progress. */
  adoptions: { idle(): Promise<void> } | undefined = undefined;
  /** This node's inbox entries written before a takeover, for its session, are handled first (inbox-barrier.ts). */
  barrier: { settle(session: Session): Promise<void> } | undefined = undefined;

  constructor(
    private readonly core: BrokerCore,
    private readonly store: RedisStore,
    private readonly link: HandoffLink,
    private readonly timeoutMs = 3000,
  ) {}

  /** Puts the claim on the CONNECT path and answers other nodes' takeover requests. */
  install(): void {
    this.core.sessionClaim = (clientId, cleanStart) => this.claim(clientId, cleanStart);
    this.link.onMessage(TAKEOVER, (body, from) => {
      const r = JSON.parse(body.toString()) as TakeoverRequest;
      return this.handOver(r.c, r.s, from, r.t);
    });
    // A clean session leaves nothing in Redis but its ownership entry: free the id when it ends here.
    this.core.on('clientDisconnected', (info: { clientId: string }) => {
      const id = info.clientId;
      if (!this.core.sessions.has(id)) this.store.owners.disown(id);
    });
  }

  /** Makes this node the owner of `clientId`, with its session (if any) loaded from Redis. */
  async claim(clientId: string, cleanStart: boolean): Promise<void> {
    const me = this.link.nodeId;
    const store = this.store;
    let handedOver = false;
    const end = Date.now() + CLAIM_MS;
    while (Date.now() < end) {
      const owner = (await store.redis.hget(store.keys.owner, clientId)) ?? '';
      if (owner === me) {
        // Ours, but maybe still being adopted here, or handed over and not read yet: read it from Redis.
        await this.adoptions?.idle();
        if (handedOver || !this.core.sessions.has(clientId)) await this.loadSession(clientId);
        return;
      }
      if (owner === '') {
        // Nobody's: taken if no one else took it first.
        if (await store.owners.claim(clientId, '')) {
          await this.loadSession(clientId);
          return;
        }
        continue;
      }
      if (this.link.isAlive(owner)) {
        // The owner closes its connection, commits and passes ownership to us before it answers.
        const body = JSON.stringify({
          c: clientId,
          s: cleanStart,
          t: Date.now() + this.timeoutMs,
        } satisfies TakeoverRequest);
        try {
          await this.link.request(owner, TAKEOVER, body, this.timeoutMs);
          handedOver = true;
        } catch {
          // No answer: the owner may have died; look again (it is reaped once declared dead).
        }
        continue;
      }
      // A dead owner not reaped yet: its reaper adopts the session (with what was left in its inbox).
      await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
    }
    throw new Error(`no owner of client id ${clientId} handed it over in time`);
  }

  /** Reads the session of a client id this node now owns from Redis into memory (an offline session). */
  async loadSession(clientId: string): Promise<Session | undefined> {
    const core = this.core;
    const now = core.now;
    const state = await this.store.loadClient(clientId, now);
    if (state === undefined || core.sessions.has(clientId)) return core.sessions.get(clientId);
    // Connected on a node that died: disconnected from now on, as at a restart.
    if (state.session.disconnectedAt === 0) state.session.disconnectedAt = now;
    restoreState(core, toRestoredState([state]));
    const session = core.sessions.get(clientId);
    // An armed will (its node died) goes now, or after its delay unless the session resumes first.
    if (state.will !== undefined) core.wills.restore([state.will], core.sessions, now);
    if (session !== undefined) core.persistSession(session);
    return session;
  }

  /** Another node claims `clientId`: close the connection here, keep the session in Redis, pass it on. */
  async handOver(clientId: string, cleanStart: boolean, to: string, deadline?: number): Promise<string> {
    // A session being adopted from a dead node goes once what that node left for it has been routed.
    await this.adoptions?.idle();
    // The asking node gave up meanwhile (it may have died): handing the session to it would leave it to nobody,
    // and what is published for it meanwhile would have no route (seen in test/cluster/failover-sigkill.test.ts).
    if (deadline !== undefined && Date.now() > deadline) throw new Error('takeover request expired');
    const core = this.core;
    // With writes pending the connection's last output could not go before it closes (group commit).
    for (let i = 0; i < 3 && this.store.pending; i++) await this.store.settled();
    const session = core.sessions.get(clientId);
    const conn = session?.connection;
    if (session !== undefined && conn !== null && conn !== undefined) {
      // [MQTT-3.1.4-3] the new connection takes the session over; the old one is told 0x8E (MQTT 5).
      core.logger.log('notice', `Client ${clientId} already connected, closing old connection.`);
      conn.takenOver = true;
      // As on one node: a persistent session resumed elsewhere drops the old will unsent [MQTT-3.1.3-9].
      if (!cleanStart && session.expiryInterval > 0) conn.will = undefined;
      conn.close(false, ReasonCode.SessionTakenOver);
    }
    let current = core.sessions.get(clientId);
    // The request came ahead of the inbox (control stream): what was forwarded for the session before it joins
    // the session first, so that nothing acknowledged is lost or overtaken (inbox-barrier.ts).
    if (current !== undefined && !cleanStart && this.barrier !== undefined) {
      await this.barrier.settle(current);
      // A long wait (a reader held by other subscribers): the asker may have given up; the session stays here.
      if (deadline !== undefined && Date.now() > deadline) throw new Error('takeover request expired');
      for (let i = 0; i < 3 && this.store.pending; i++) await this.store.settled();
      current = core.sessions.get(clientId);
    }
    if (current !== undefined) {
      // [MQTT-3.1.2-4] Clean Start: the session ends here (its delayed will goes now).
      if (cleanStart) core.discardSession(current);
      else {
        core.wills.cancel(clientId);
        this.forget(current);
      }
    }
    this.store.owners.transfer(clientId, to);
    await this.store.settled();
    return 'ok';
  }

  /** Drops a session from memory only: its subscriptions leave the router (and the routes), Redis keeps it. */
  forget(session: Session): void {
    const core = this.core;
    for (const entry of session.subscriptions.values()) core.router.remove(entry);
    session.subscriptions.clear();
    const deliveries = [...session.inflight.values(), ...session.queue.slice(session.queueHead)];
    this.store.release(session.clientId, deliveries);
    session.clearQueue();
    session.inflight.clear();
    session.persisted = false;
    if (core.sessions.get(session.clientId) === session) core.sessions.delete(session.clientId);
  }
}
