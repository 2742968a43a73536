// Session state written through to the persistence store: only sessions that outlive their connection
// (expiry > 0) are saved, and only while they are; the store never sees the others. The journal also numbers
// what it stores (message ids, delivery seqs): the broker's ids, so that a store never writes into its objects.

import type { Message } from './message.js';
import type { PersistenceStore } from './persistence-port.js';
import type { Delivery, Session } from './session.js';
import type { SubscriptionEntry } from './subscription.js';

export class SessionJournal {
  private nextMessageId = 1;
  private nextSeq = 1;

  constructor(private readonly store: PersistenceStore) {}

  /** After a restore: new ids follow the largest the store handed back (ids are never reused). */
  reserve(maxMessageId: number, maxSeq: number): void {
    if (maxMessageId >= this.nextMessageId) this.nextMessageId = maxMessageId + 1;
    if (maxSeq >= this.nextSeq) this.nextSeq = maxSeq + 1;
  }

  private number(message: Message): void {
    if (message.id === 0) message.id = this.nextMessageId++;
  }

  /** Stores a new QoS 1/2 delivery of a persisted session. */
  addDelivery(clientId: string, d: Delivery): void {
    this.number(d.message);
    d.seq = this.nextSeq++;
    this.store.addDelivery(clientId, d);
  }

  /** A stored delivery got its packet identifier or its PUBREC. */
  updateDelivery(d: Delivery): void {
    if (d.seq !== 0) this.store.updateDelivery(d);
  }

  /** A stored delivery is finished or dropped. */
  removeDelivery(d: Delivery): void {
    if (d.seq === 0) return;
    this.store.removeDelivery(d);
    d.seq = 0;
  }

  /** The retained message of `topic` changes (`message` undefined: deleted). */
  setRetained(topic: string, message: Message | undefined, previous: Message | undefined): void {
    if (message !== undefined) this.number(message);
    this.store.setRetained(topic, message, previous);
  }

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
    for (const d of session.inflight.values()) if (d.qos > 0) this.addDelivery(clientId, d);
    for (let i = session.queueHead; i < session.queue.length; i++) {
      const d = session.queue[i]!;
      if (d.qos > 0) this.addDelivery(clientId, d);
    }
    for (const id of session.incomingQos2) store.addIncomingQos2(clientId, id);
  }

  /** The session no longer outlives its connection (or ended): it leaves the store with all it held. */
  unpersist(session: Session): void {
    if (!session.persisted) return;
    session.persisted = false;
    const deliveries = [...session.inflight.values(), ...session.queue.slice(session.queueHead)];
    this.store.deleteSession(
      session.clientId,
      deliveries.filter((d) => d.seq !== 0),
    );
    for (const d of deliveries) d.seq = 0;
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
