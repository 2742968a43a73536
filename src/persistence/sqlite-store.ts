// The durable store: one SQLite database (WAL) written through prepared statements. Writes of one event-loop
// turn share one transaction; the broker commits it before sending the acknowledgements it covers. A turn's
// QoS 1 deliveries carrying their message go into one row of the delivery log (sqlite-log.ts).

import Database from 'better-sqlite3';
import { encodeProperties } from './json-codec.js';
import { PersistenceError, PersistenceErrorCode } from './persistence-error.js';
import { createSchema, isEmpty, migrate, schemaProblems } from './schema.js';
import { InsertBatch } from './sqlite-batch.js';
import { DeferredDeletes } from './sqlite-deletes.js';
import { pushDeliveryRow } from './sqlite-delivery-row.js';
import { classify, loadState } from './sqlite-load.js';
import { DeliveryLog } from './sqlite-log.js';
import {
  DELIVERY_COLUMNS,
  DELIVERY_INSERT,
  INLINE_DELIVERY_COLUMNS,
  INLINE_DELIVERY_INSERT,
  prepareStatements,
  type WriteStatements,
} from './sqlite-statements.js';
import type {
  DeliveryRecord,
  MessageRecord,
  PersistenceStore,
  RestoredState,
  StoredSession,
  StoredWill,
  SubscriptionRecord,
} from './store.js';
import { WalSync } from './wal-sync.js';

export interface SqliteStoreOptions {
  /**
   * 'normal' (default): with WAL, a commit is a write() to the log without fsync; it survives the process being
   * killed (SIGKILL), the bar Culex promises, but the last commits may be lost if the OS crashes or power fails.
   * 'full': every commit is fsynced before the acknowledgements it covers go, so they survive a power cut too;
   * the fsync runs on the threadpool (wal-sync.ts) and commit() returns its promise.
   */
  synchronous?: 'full' | 'normal';
}

type Statement = Database.Statement;

export class SqliteStore implements PersistenceStore {
  readonly durable = true;
  private readonly db: Database.Database;
  private inTransaction = false;
  private critical = false;
  /**
   * Per message id: 2 x (stored deliveries and retained entries referring to it) + 1 when it has a `messages`
   * row. A message's first delivery carries it inline (no row); a row is written once a second reference comes,
   * and deleted when the last one goes.
   */
  private refs = new Map<number, number>();
  private readonly st: WriteStatements;
  private pendingListener: (() => void) | undefined;
  /** The first write error of the open transaction, reported by commit(). */
  private failure: unknown = undefined;
  /** Rows deleted at the commit (sqlite-deletes.ts). */
  private readonly dead = new DeferredDeletes();
  /**
   * New delivery rows, inserted many per statement before any other statement of the turn runs (so that an
   * update or delete always finds its row) and at the commit.
   */
  private readonly deliveries: InsertBatch;
  private readonly inlineDeliveries: InsertBatch;
  private readonly log = new DeliveryLog();
  /** `synchronous: 'full'`: syncs the WAL after each commit, off the event loop. */
  private readonly fullSync: boolean;
  private wal: WalSync | undefined;

  /** Opens (or creates) the database; throws PersistenceError with the file and reason. */
  constructor(
    readonly description: string,
    options: SqliteStoreOptions = {},
  ) {
    const file = description;
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { fileMustExist: false });
      db.pragma('journal_mode = WAL');
      // FULL's fsync happens after the commit, on the threadpool (wal-sync.ts).
      db.pragma('synchronous = NORMAL');
      const check = db.pragma('quick_check', { simple: true }) as string;
      if (check !== 'ok')
        throw new PersistenceError(PersistenceErrorCode.corrupt, file, `integrity check failed: ${check}`);
      if (isEmpty(db)) createSchema(db);
      else migrate(db);
      const problems = schemaProblems(db);
      if (problems.length > 0)
        throw new PersistenceError(PersistenceErrorCode.badSchema, file, problems.join('; '));
    } catch (err) {
      db?.close();
      throw classify(file, err);
    }
    this.db = db;
    this.fullSync = options.synchronous === 'full';
    this.st = prepareStatements(db);
    this.deliveries = new InsertBatch(db, DELIVERY_INSERT, DELIVERY_COLUMNS);
    this.inlineDeliveries = new InsertBatch(db, INLINE_DELIVERY_INSERT, INLINE_DELIVERY_COLUMNS);
  }

  get pending(): boolean {
    return this.inTransaction;
  }

  get holdsOutput(): boolean {
    return this.critical;
  }

  onPending(listener: () => void): void {
    this.pendingListener = listener;
  }

  /** Opens the turn's transaction on its first write. */
  private write(critical = true): WriteStatements {
    if (critical) this.critical = true;
    if (!this.inTransaction) {
      this.inTransaction = true;
      try {
        this.st.begin.run();
      } catch (err) {
        this.failure = err;
      }
      this.pendingListener?.();
    }
    return this.st;
  }

  /**
   * Runs one write of the turn. A failure (disk full, I/O error) must not throw into the broker's packet
   * handling: it is remembered, and the commit fails instead, so no acknowledgement covering it goes out.
   */
  private run(statement: Statement, ...params: unknown[]): void {
    if (this.failure !== undefined) return;
    try {
      this.flushInserts();
      statement.run(...params);
    } catch (err) {
      this.failure = err;
    }
  }

  private flushInserts(): void {
    if (this.deliveries.pending) this.deliveries.flush();
    if (this.inlineDeliveries.pending) this.inlineDeliveries.flush();
  }

  /** Commits the turn; with `full`, the promise settles once the commit is on disk. */
  commit(): void | Promise<void> {
    if (!this.inTransaction) return;
    this.commitWrites();
    if (!this.fullSync) return;
    this.wal ??= new WalSync(`${this.db.name}-wal`);
    return this.wal.sync();
  }

  private commitWrites(): void {
    try {
      const failure = this.failure;
      this.failure = undefined;
      if (failure !== undefined) throw failure;
      this.flushInserts();
      if (this.log.pending) this.log.flush(this.st);
      if (!this.dead.empty) this.dead.flush(this.st);
      this.st.commit.run();
      this.inTransaction = false;
      this.critical = false;
    } catch (err) {
      // SQLite may already have rolled back (SQLITE_FULL); make sure nothing half-done stays open.
      if (this.db.inTransaction) {
        try {
          this.st.rollback.run();
        } catch {
          // nothing more to undo
        }
      }
      this.inTransaction = false;
      this.critical = false;
      this.dead.clear();
      this.deliveries.clear();
      this.inlineDeliveries.clear();
      this.log.clear();
      const text = err instanceof Error ? err.message : String(err);
      throw new PersistenceError(PersistenceErrorCode.writeFailed, this.description, text);
    }
  }

  close(): void {
    if (!this.db.open) return;
    try {
      if (this.inTransaction) this.commitWrites();
      this.wal?.syncNow();
    } finally {
      this.wal?.close();
      this.db.close();
    }
  }

  // ---- messages (stored once, reference-counted by deliveries and the retained table)

  /**
   * Counts a reference to `message`. Returns true when it is the message's only reference and comes from a
   * delivery: the delivery row then carries the message itself. Otherwise the message has (or gets) its row.
   */
  private ref(message: MessageRecord, fromDelivery: boolean): boolean {
    const id = message.id;
    const v = this.refs.get(id);
    if (v === undefined) {
      // A message whose last reference went this turn still has its row (deletes wait for the commit): keep it.
      if (this.dead.messages.delete(id)) {
        this.refs.set(id, 3);
        return false;
      }
      if (fromDelivery) {
        this.refs.set(id, 2);
        return true;
      }
      this.insertMessage(message);
      this.refs.set(id, 3);
      return false;
    }
    if ((v & 1) === 0) this.insertMessage(message);
    this.refs.set(id, (v + 2) | 1);
    return false;
  }

  private insertMessage(message: MessageRecord): void {
    const source = message.source;
    this.run(
      this.write().insertMessage,
      message.id,
      message.topic,
      message.payload,
      message.qos,
      message.retain ? 1 : 0,
      encodeProperties(message.properties),
      message.origin,
      message.expiresAt,
      source?.username ?? null,
      source?.listenerPort ?? null,
    );
  }

  private unref(message: MessageRecord): void {
    const id = message.id;
    const v = this.refs.get(id);
    if (v === undefined) return;
    if (v >= 4) {
      this.refs.set(id, v - 2);
      return;
    }
    this.refs.delete(id);
    // An inline message goes with its delivery row; only a `messages` row needs deleting.
    if ((v & 1) === 0) return;
    this.write(false);
    this.dead.messages.add(id);
  }

  // ---- sessions and subscriptions

  saveSession(s: StoredSession): void {
    const st = this.write().saveSession;
    this.run(st, s.clientId, s.expiryInterval, s.disconnectedAt, s.username ?? null, s.listenerPort ?? null);
  }

  deleteSession(clientId: string, deliveries: Iterable<DeliveryRecord>): void {
    const st = this.write();
    // By seq, with the turn's other deletes: no index on client_id to maintain for every delivery.
    for (const d of deliveries) {
      if (d.seq === 0) continue;
      if (!this.log.remove(d.seq)) this.dead.delivery(d.seq);
      this.unref(d.message);
    }
    this.run(st.deleteSession, clientId);
    this.run(st.deleteSessionSubs, clientId);
    this.run(st.deleteSessionQos2, clientId);
  }

  saveSubscription(clientId: string, e: SubscriptionRecord): void {
    this.run(
      this.write().saveSubscription,
      clientId,
      e.filter,
      e.matchFilter,
      e.shareGroup ?? null,
      e.qos,
      e.noLocal ? 1 : 0,
      e.retainAsPublished ? 1 : 0,
      e.retainHandling,
      e.identifier,
    );
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.run(this.write().deleteSubscription, clientId, filter);
  }

  // ---- outgoing deliveries

  addDelivery(clientId: string, d: DeliveryRecord): void {
    // Its only reference: the message goes with the delivery, else the row refers to the message's.
    const inline = this.ref(d.message, true);
    this.write();
    if (this.failure !== undefined) return;
    if (inline && d.qos === 1) this.log.add(clientId, d);
    else pushDeliveryRow(inline ? this.inlineDeliveries : this.deliveries, clientId, d, inline);
  }

  updateDelivery(d: DeliveryRecord): void {
    if (d.seq === 0 || this.log.updatePending(d)) return;
    const clientId = this.log.takeOut(d.seq);
    if (clientId !== undefined) {
      // Only QoS 1 is in the log: a lost update repeats a send, which QoS 1 allows.
      this.write(false);
      const inline = ((this.refs.get(d.message.id) ?? 0) & 1) === 0;
      pushDeliveryRow(inline ? this.inlineDeliveries : this.deliveries, clientId, d, inline);
      return;
    }
    // A QoS 1 send may be repeated under a new identifier after a crash; QoS 2 state may not.
    this.run(this.write(d.qos === 2).updateDelivery, d.packetId, d.released ? 1 : 0, d.seq);
  }

  removeDelivery(d: DeliveryRecord): void {
    if (d.seq === 0) return;
    // Losing this delete means one more delivery after a crash, which QoS 1 allows; for QoS 2 the client
    // answers a resent PUBREL whatever its state.
    this.write(false);
    if (!this.log.remove(d.seq)) this.dead.delivery(d.seq);
    this.unref(d.message);
  }

  // ---- incoming QoS 2, retained, wills

  addIncomingQos2(clientId: string, packetId: number): void {
    this.run(this.write().addQos2, clientId, packetId);
  }

  removeIncomingQos2(clientId: string, packetId: number): void {
    this.run(this.write().removeQos2, clientId, packetId);
  }

  setRetained(topic: string, message: MessageRecord | undefined, previous: MessageRecord | undefined): void {
    if (message === previous) return;
    const st = this.write();
    if (message === undefined) this.run(st.deleteRetained, topic);
    else {
      this.ref(message, false);
      this.run(st.setRetained, topic, message.id);
    }
    if (previous !== undefined) this.unref(previous);
  }

  saveWill(w: StoredWill): void {
    const will = w.will;
    this.run(
      this.write().saveWill,
      w.clientId,
      will.topic,
      will.payload,
      will.qos,
      will.retain ? 1 : 0,
      encodeProperties(will.properties),
      w.dueAt,
      w.delay,
    );
  }

  deleteWill(clientId: string): void {
    this.run(this.write().deleteWill, clientId);
  }

  // ---- start-up

  load(now: number): RestoredState {
    if (this.inTransaction) this.commitWrites();
    const { state, refs } = loadState(this.db, this.description, now, this.log, this.st);
    this.refs = refs;
    return state;
  }
}
