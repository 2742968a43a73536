// The persistence interface the broker writes through and restores from. The broker never knows which store
// it has: the in-memory default (nothing durable) or the SQLite one (every acknowledged message on disk).

import type { Message } from '../broker/message.js';
import type { Delivery } from '../broker/session.js';
import type { SubscriptionEntry } from '../broker/subscription.js';
import type { Will } from '../protocol/packets.js';

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

export interface StoredSubscription {
  clientId: string;
  filter: string;
  matchFilter: string;
  shareGroup: string | undefined;
  qos: 0 | 1 | 2;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  identifier: number;
}

/** An outgoing delivery, queued (packetId 0) or in flight; `seq` orders them as they were created. */
export interface StoredDelivery {
  seq: number;
  clientId: string;
  message: Message;
  qos: 1 | 2;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  packetId: number;
  released: boolean;
  /** The share group it came through (name and filter), so that it can go to another member later. */
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
  retained: Message[];
  wills: StoredWill[];
}

/**
 * Writes are grouped: they accumulate in one open transaction until `commit()`, which the broker calls once
 * per event-loop turn before it lets any acknowledgement covered by them reach the network.
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
  deleteSession(clientId: string, deliveries: Iterable<Delivery>): void;

  saveSubscription(clientId: string, entry: SubscriptionEntry): void;
  deleteSubscription(clientId: string, filter: string): void;

  /** Records a new delivery (sets `delivery.storeSeq`), storing its message once however many refer to it. */
  addDelivery(clientId: string, delivery: Delivery): void;
  /** The delivery got a packet identifier or was released (PUBREC received). */
  updateDelivery(delivery: Delivery): void;
  /** The delivery is finished (PUBACK, PUBCOMP, expiry); its message goes when nothing refers to it. */
  removeDelivery(delivery: Delivery): void;

  addIncomingQos2(clientId: string, packetId: number): void;
  removeIncomingQos2(clientId: string, packetId: number): void;

  /** The retained message of `topic` is now `message` (undefined = deleted); `previous` is released. */
  setRetained(topic: string, message: Message | undefined, previous: Message | undefined): void;

  saveWill(will: StoredWill): void;
  deleteWill(clientId: string): void;

  /** Makes every pending write durable. Throws PersistenceError when it cannot (disk full…). */
  commit(): void;
  /** Commits what is pending and releases the database. */
  close(): void;
}
