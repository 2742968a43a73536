// Wills waiting for their Will Delay Interval, and the armed wills of connected persistent sessions (saved so
// that a broker crash, an unclean end for the client, still publishes them after the restart) [MQTT-3.1.3-9].

import type { Will } from '../protocol/packets.js';
import type { ClientIdentity } from './delivery-acl.js';
import type { PersistenceStore, StoredWill } from './persistence-port.js';
import type { SessionRegistry } from './session-registry.js';

/** Publishes a will that is due, if its owner may still write its topic. */
export type WillPublisher = (will: Will, clientId: string, owner: ClientIdentity | undefined) => void;

export interface WillScheduler {
  /** The client of a persistent session connected with a will: keep it in the store while it is connected. */
  arm(clientId: string, will: Will, delay: number): void;
  /** Its connection ended (cleanly or not): the armed copy goes. */
  disarm(clientId: string): void;
  /** Publishes the will at `at` (ms) unless cancelled first; `persist` saves it for a restart. */
  schedule(
    clientId: string,
    will: Will,
    at: number,
    delay: number,
    owner: ClientIdentity | undefined,
    persist: boolean,
  ): void;
  /** The session resumed before the delay ran out: the will is not sent [MQTT-3.1.3-9]. */
  cancel(clientId: string): void;
  /** The session ended: a will still waiting goes now. */
  endSession(clientId: string): void;
  /** Publishes every will due at `now`. */
  runDue(now: number): void;
  /** Takes over the wills a store saved; the due ones (armed wills with no delay) are published at once. */
  restore(wills: readonly StoredWill[], sessions: SessionRegistry, now: number): void;
}

interface PendingWill {
  will: Will;
  clientId: string;
  at: number;
  /** Whose will it is: checked against the write ACL when it goes out. */
  owner: ClientIdentity | undefined;
}

/** The wills of this process, checked by the broker's once-a-second sweep. */
export class LocalWillScheduler implements WillScheduler {
  private readonly pending = new Map<string, PendingWill>();
  /** Clients whose will is saved in the store as armed (persistent session, connected). */
  private readonly armed = new Set<string>();

  constructor(
    private readonly store: PersistenceStore,
    private readonly publish: WillPublisher,
  ) {}

  arm(clientId: string, will: Will, delay: number): void {
    this.store.saveWill({ clientId, will, dueAt: 0, delay });
    this.armed.add(clientId);
  }

  disarm(clientId: string): void {
    if (this.armed.delete(clientId)) this.store.deleteWill(clientId);
  }

  schedule(
    clientId: string,
    will: Will,
    at: number,
    delay: number,
    owner: ClientIdentity | undefined,
    persist: boolean,
  ): void {
    this.pending.set(clientId, { will, clientId, at, owner });
    if (persist) this.store.saveWill({ clientId, will, dueAt: at, delay });
  }

  cancel(clientId: string): void {
    if (this.pending.delete(clientId) && this.store.durable) this.store.deleteWill(clientId);
  }

  endSession(clientId: string): void {
    const pending = this.pending.get(clientId);
    if (pending === undefined) return;
    // [MQTT-3.1.3-9] the will goes out when the session ends, if that comes before the delay.
    this.pending.delete(clientId);
    if (this.store.durable) this.store.deleteWill(clientId);
    this.publish(pending.will, pending.clientId, pending.owner);
  }

  runDue(now: number): void {
    if (this.pending.size === 0) return;
    for (const [id, pending] of this.pending) {
      if (now < pending.at) continue;
      this.pending.delete(id);
      if (this.store.durable) this.store.deleteWill(id);
      this.publish(pending.will, pending.clientId, pending.owner);
    }
  }

  restore(wills: readonly StoredWill[], sessions: SessionRegistry, now: number): void {
    const store = this.store;
    const fired: PendingWill[] = [];
    for (const w of wills) {
      const session = sessions.get(w.clientId);
      if (w.dueAt === 0) {
        // An armed will: its client was connected when the broker died, an unclean end [MQTT-3.1.2-8]. As at
        // any disconnection, the Will Delay Interval (capped by the session's expiry) starts now.
        const delay = Math.min(w.delay, session?.expiryInterval ?? 0);
        const pending = { will: w.will, clientId: w.clientId, at: now + delay * 1000, owner: session?.owner };
        if (delay > 0 && session !== undefined) {
          this.pending.set(w.clientId, pending);
          store.saveWill({ clientId: w.clientId, will: w.will, dueAt: pending.at, delay: w.delay });
        } else fired.push(pending);
        continue;
      }
      // A will whose session ended while the broker was down is due at once [MQTT-3.1.3-9].
      const at = session !== undefined ? w.dueAt : 0;
      this.pending.set(w.clientId, { will: w.will, clientId: w.clientId, at, owner: session?.owner });
    }
    for (const p of fired) {
      store.deleteWill(p.clientId);
      this.publish(p.will, p.clientId, p.owner);
    }
  }
}
