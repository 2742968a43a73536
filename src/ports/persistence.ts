// The persistence port: what the broker needs from a store, in plain records. The broker owns this contract
// (src/broker/persistence-port.ts re-exports it); stores (src/persistence, a Redis store later) implement it.
// It lives outside src/broker so that a store depends on the contract alone, never on the broker's classes.
// Stores never write into the records they are given: ids are the broker's (Message id, delivery seq).

import type { QoS, Will } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';

/** Who published a retained message, for check_retain_source: username and listener port. */
export interface MessageSourceRecord {
  readonly username: string | undefined;
  readonly listenerPort: number;
}

/**
 * An application message. `id` is given by the broker before the message first reaches the store, unique among
 * the store's messages and never reused: a store keeps one copy per id however many deliveries refer to it.
 */
export interface MessageRecord {
  readonly id: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: Properties | undefined;
  /** Client identifier of the publisher ('' for the broker's own messages). */
  readonly origin: string;
  /** ms since the epoch; 0 = never. */
  readonly expiresAt: number;
  readonly source: MessageSourceRecord | undefined;
  /** Cluster mode: the id the message has on every node (origin node's epoch, sequence); absent or 0 = none. */
  readonly clusterEpoch?: number;
  readonly clusterSeq?: number;
}

/** An outgoing QoS 1/2 delivery, queued (packetId 0) or in flight. */
export interface DeliveryRecord {
  /** The broker's number for it: orders deliveries as they were created; unique, never reused; 0 = not stored. */
  readonly seq: number;
  readonly message: MessageRecord;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
  readonly packetId: number;
  /** QoS 2: PUBREC received, PUBREL sent. */
  readonly released: boolean;
  /** The share group it came through, so that it can go to another member later. */
  readonly group?: { readonly name: string; readonly filter: string } | undefined;
}

export interface SubscriptionRecord {
  readonly filter: string;
  readonly matchFilter: string;
  readonly shareGroup: string | undefined;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly identifier: number;
}

/** A persistent session as stored: what is needed to rebuild it at start-up. */
export interface StoredSession {
  clientId: string;
  /** Seconds; never 0 (sessions that end with their connection are not stored). */
  expiryInterval: number;
  /** ms since the epoch; 0 when the client was connected when the broker stopped. */
  disconnectedAt: number;
  /** Whom it belongs to: username (undefined = anonymous) and listener port; port undefined = unknown. */
  username?: string | undefined;
  listenerPort?: number | undefined;
}

export interface StoredSubscription extends SubscriptionRecord {
  clientId: string;
}

/** A message read back at start-up; deliveries of the same message share one object. */
export type StoredMessage = MessageRecord;

/** A delivery read back at start-up; `seq` orders them as they were created. */
export interface StoredDelivery {
  seq: number;
  clientId: string;
  message: StoredMessage;
  qos: 1 | 2;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  packetId: number;
  released: boolean;
  shareGroup: string | undefined;
  shareFilter: string | undefined;
}

export interface StoredWill {
  clientId: string;
  will: Will;
  /**
   * When the delayed will is due, ms since the epoch; 0 = armed: the client is connected, and the will goes
   * out (after `delay`) only if its connection ends uncleanly — a broker crash counts as such.
   */
  dueAt: number;
  /** Will Delay Interval in seconds, used when an armed will fires. */
  delay: number;
}

/** Everything a store hands back at start-up; expired sessions and messages are already left out. */
export interface RestoredState {
  sessions: StoredSession[];
  subscriptions: StoredSubscription[];
  /** In creation order (seq ascending). */
  deliveries: StoredDelivery[];
  incomingQos2: Array<{ clientId: string; packetId: number }>;
  retained: StoredMessage[];
  wills: StoredWill[];
}

/**
 * Writes are grouped: they accumulate until `commit()`, which the broker calls once per event-loop turn before
 * it lets any acknowledgement covered by them reach the network. A commit may be asynchronous (a store across
 * the network): the broker then holds that output until the promise settles.
 */
export interface PersistenceStore {
  /** False for a store that keeps nothing: the broker then skips every call on its hot paths. */
  readonly durable: boolean;
  /** Where the data lives, for log lines ('memory' or a file path). */
  readonly description: string;
  /** True while writes wait for `commit()`. */
  readonly pending: boolean;
  /**
   * True when some pending write must be durable before the broker sends anything more (a new message, a QoS 2
   * state change…). Bookkeeping that at-least-once tolerates losing (a finished QoS 1 delivery, the identifier
   * of a QoS 1 send) is committed in the same turn without holding the output back.
   */
  readonly holdsOutput: boolean;

  /** `listener` runs when a write opens a new transaction, so the owner can schedule the commit. */
  onPending(listener: () => void): void;

  /** Reads what was saved, dropping expired sessions and messages (`now` in ms since the epoch). */
  load(now: number): RestoredState;

  saveSession(session: StoredSession): void;
  /** Removes the session with its subscriptions, deliveries (releasing their messages) and QoS 2 ids. */
  deleteSession(clientId: string, deliveries: Iterable<DeliveryRecord>): void;

  saveSubscription(clientId: string, subscription: SubscriptionRecord): void;
  deleteSubscription(clientId: string, filter: string): void;

  /** Records a new delivery under its `seq`, storing its message once however many refer to it. */
  addDelivery(clientId: string, delivery: DeliveryRecord): void;
  /** The delivery got a packet identifier or was released (PUBREC received). */
  updateDelivery(delivery: DeliveryRecord): void;
  /** The delivery is finished (PUBACK, PUBCOMP, expiry); its message goes when nothing refers to it. */
  removeDelivery(delivery: DeliveryRecord): void;

  addIncomingQos2(clientId: string, packetId: number): void;
  removeIncomingQos2(clientId: string, packetId: number): void;

  /** The retained message of `topic` is now `message` (undefined = deleted); `previous` is released. */
  setRetained(topic: string, message: MessageRecord | undefined, previous: MessageRecord | undefined): void;

  saveWill(will: StoredWill): void;
  deleteWill(clientId: string): void;

  /** Makes every pending write durable; throws (or rejects) when it cannot (disk full…). */
  commit(): void | Promise<void>;
  /** Commits what is pending and releases the store. */
  close(): void;
}

/**
 * The store that keeps nothing (the broker's own maps are the only state), as with Mosquitto's `persistence
 * false`: every method is a no-op, and `durable` is false so the broker skips them. Part of the contract so
 * that the broker has a default without depending on src/persistence.
 */
export class MemoryStore implements PersistenceStore {
  readonly durable = false;
  readonly description = 'memory';
  readonly pending = false;
  readonly holdsOutput = false;

  load(): RestoredState {
    return { sessions: [], subscriptions: [], deliveries: [], incomingQos2: [], retained: [], wills: [] };
  }

  onPending(): void {}
  saveSession(): void {}
  deleteSession(): void {}
  saveSubscription(): void {}
  deleteSubscription(): void {}
  addDelivery(): void {}
  updateDelivery(): void {}
  removeDelivery(): void {}
  addIncomingQos2(): void {}
  removeIncomingQos2(): void {}
  setRetained(): void {}
  saveWill(): void {}
  deleteWill(): void {}
  commit(): void {}
  close(): void {}
}
