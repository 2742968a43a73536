// Session state written through to the persistence store: only sessions that outlive their connection
// (expiry > 0) are saved, and only while they are; the store never sees the others.

import type { PersistenceStore } from '../persistence/store.js';
import type { Session } from './session.js';
import type { SubscriptionEntry } from './subscription.js';

export class SessionJournal {
  constructor(private readonly store: PersistenceStore) {}

  /**
   * Saves a session that outlives its connection (expiry > 0) with what it holds, or forgets a saved one whose
   * expiry became 0. Sessions that end with their connection never touch the store.
   */
  persist(session: Session): void {
    if (!this.store.durable) return;
    if (session.expiryInterval === 0) {
      this.unpersist(session);
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

  /** The session no longer outlives its connection (or ended): it leaves the store with all it held. */
  unpersist(session: Session): void {
    if (!session.persisted) return;
    session.persisted = false;
    const deliveries = [...session.inflight.values(), ...session.queue.slice(session.queueHead)];
    this.store.deleteSession(session.clientId, deliveries);
  }

  saveSubscription(entry: SubscriptionEntry): void {
    if (entry.session.persisted) this.store.saveSubscription(entry.session.clientId, entry);
  }

  deleteSubscription(entry: SubscriptionEntry): void {
    if (entry.session.persisted) this.store.deleteSubscription(entry.session.clientId, entry.filter);
  }

  addIncomingQos2(session: Session, packetId: number): void {
    if (session.persisted) this.store.addIncomingQos2(session.clientId, packetId);
  }

  removeIncomingQos2(session: Session, packetId: number): void {
    if (session.persisted) this.store.removeIncomingQos2(session.clientId, packetId);
  }
}
