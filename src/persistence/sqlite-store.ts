// The durable store: one SQLite database (WAL) written through prepared statements. Writes of one event-loop
// turn share one transaction; the broker commits it before sending the acknowledgements it covers.

import Database from 'better-sqlite3';
import { Message } from '../broker/message.js';
import type { Delivery } from '../broker/session.js';
import type { SubscriptionEntry } from '../broker/subscription.js';
import type { QoS } from '../protocol/packets.js';
import { decodeIds, decodeProperties, encodeIds, encodeProperties } from './json-codec.js';
import { PersistenceError, PersistenceErrorCode } from './persistence-error.js';
import { createSchema, isEmpty, migrate, schemaProblems } from './schema.js';
import type {
  PersistenceStore,
  RestoredState,
  StoredDelivery,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from './store.js';

export interface SqliteStoreOptions {
  /**
   * 'normal' (default): with WAL, a commit is a write() to the log without fsync; it survives the process being
   * killed (SIGKILL), the bar Culex promises, but the last commits may be lost if the OS crashes or power fails.
   * 'full': every commit is fsynced, so acknowledged messages survive a power cut too (many times slower).
   */
  synchronous?: 'full' | 'normal';
}

const NEVER_EXPIRES = 0xffffffff;

type Statement = Database.Statement;

interface MessageRow {
  id: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: string | null;
  origin: string;
  expires_at: number;
  source_username: string | null;
  source_port: number | null;
}

/** Maps SQLite's error codes to the reason a person can act on. */
function classify(file: string, err: unknown): PersistenceError {
  if (err instanceof PersistenceError) return err;
  const code = (err as { code?: unknown }).code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new PersistenceError(PersistenceErrorCode.corrupt, file, `corrupt or not a database (${text})`);
  }
  return new PersistenceError(PersistenceErrorCode.cannotOpen, file, text);
}

export class SqliteStore implements PersistenceStore {
  readonly durable = true;
  private readonly db: Database.Database;
  private inTransaction = false;
  private critical = false;
  private nextMessageId = 1;
  private nextSeq = 1;
  private readonly st: Record<string, Statement>;
  private pendingListener: (() => void) | undefined;
  /** The first write error of the open transaction, reported by commit(). */
  private failure: unknown = undefined;
  /**
   * Rows to delete, gathered over the turn and removed by one statement each at commit: a per-row DELETE
   * costs as much as the insert it undoes. Safe to defer because seq and message ids are never reused.
   */
  private deadDeliveries: number[] = [];
  private deadMessages: number[] = [];

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
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
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
    this.st = this.prepare();
  }

  get pending(): boolean {
    return this.inTransaction;
  }

  get holdsOutput(): boolean {
    return this.critical;
  }

  private prepare(): Record<string, Statement> {
    const p = (sql: string): Statement => this.db.prepare(sql);
    return {
      begin: p('BEGIN'),
      commit: p('COMMIT'),
      rollback: p('ROLLBACK'),
      insertMessage: p(
        `INSERT INTO messages (id, topic, payload, qos, retain, properties, origin, expires_at, source_username,
         source_port) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteMessages: p('DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
      saveSession: p(
        'INSERT OR REPLACE INTO sessions (client_id, expiry_interval, disconnected_at, username, listener_port) VALUES (?, ?, ?, ?, ?)',
      ),
      deleteSession: p('DELETE FROM sessions WHERE client_id = ?'),
      deleteSessionSubs: p('DELETE FROM subscriptions WHERE client_id = ?'),
      deleteSessionDeliveries: p('DELETE FROM deliveries WHERE client_id = ?'),
      deleteSessionQos2: p('DELETE FROM incoming_qos2 WHERE client_id = ?'),
      saveSubscription: p(
        `INSERT OR REPLACE INTO subscriptions (client_id, filter, match_filter, share_group, qos, no_local,
         retain_as_published, retain_handling, identifier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteSubscription: p('DELETE FROM subscriptions WHERE client_id = ? AND filter = ?'),
      insertDelivery: p(
        `INSERT INTO deliveries (seq, client_id, message_id, qos, retain, subscription_ids, packet_id, released,
         share_group, share_filter) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateDelivery: p('UPDATE deliveries SET packet_id = ?, released = ? WHERE seq = ?'),
      deleteDeliveries: p('DELETE FROM deliveries WHERE seq IN (SELECT value FROM json_each(?))'),
      addQos2: p('INSERT OR IGNORE INTO incoming_qos2 (client_id, packet_id) VALUES (?, ?)'),
      removeQos2: p('DELETE FROM incoming_qos2 WHERE client_id = ? AND packet_id = ?'),
      setRetained: p('INSERT OR REPLACE INTO retained (topic, message_id) VALUES (?, ?)'),
      deleteRetained: p('DELETE FROM retained WHERE topic = ?'),
      saveWill: p(
        'INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, due_at, delay) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteWill: p('DELETE FROM wills WHERE client_id = ?'),
    };
  }

  onPending(listener: () => void): void {
    this.pendingListener = listener;
  }

  /** Opens the turn's transaction on its first write. */
  private write(critical = true): Record<string, Statement> {
    if (critical) this.critical = true;
    if (!this.inTransaction) {
      this.inTransaction = true;
      try {
        this.st.begin!.run();
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
      statement.run(...params);
    } catch (err) {
      this.failure = err;
    }
  }

  commit(): void {
    if (!this.inTransaction) return;
    try {
      const failure = this.failure;
      this.failure = undefined;
      if (failure !== undefined) throw failure;
      this.flushDeletes();
      this.st.commit!.run();
      this.inTransaction = false;
      this.critical = false;
    } catch (err) {
      // SQLite may already have rolled back (SQLITE_FULL); make sure nothing half-done stays open.
      if (this.db.inTransaction) {
        try {
          this.st.rollback!.run();
        } catch {
          // nothing more to undo
        }
      }
      this.inTransaction = false;
      this.critical = false;
      this.deadDeliveries = [];
      this.deadMessages = [];
      const text = err instanceof Error ? err.message : String(err);
      throw new PersistenceError(PersistenceErrorCode.writeFailed, this.description, text);
    }
  }

  /** Runs the turn's deferred deletes (ids as a JSON array: one statement however many rows). */
  private flushDeletes(): void {
    if (this.deadDeliveries.length > 0) {
      const ids = this.deadDeliveries;
      this.deadDeliveries = [];
      this.st.deleteDeliveries!.run(`[${ids.join(',')}]`);
    }
    if (this.deadMessages.length > 0) {
      const ids = this.deadMessages;
      this.deadMessages = [];
      this.st.deleteMessages!.run(`[${ids.join(',')}]`);
    }
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.commit();
    } finally {
      this.db.close();
    }
  }

  // ---- messages (stored once, reference-counted by deliveries and the retained table)

  private ref(message: Message): number {
    if (message.storeId === 0) {
      const id = this.nextMessageId++;
      const source = message.source;
      this.run(
        this.write().insertMessage!,
        id,
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
      message.storeId = id;
    }
    message.storeRefs++;
    return message.storeId;
  }

  private unref(message: Message): void {
    if (message.storeId === 0) return;
    if (--message.storeRefs > 0) return;
    this.write(false);
    this.deadMessages.push(message.storeId);
    message.storeId = 0;
    message.storeRefs = 0;
  }

  // ---- sessions and subscriptions

  saveSession(s: StoredSession): void {
    const st = this.write().saveSession!;
    this.run(st, s.clientId, s.expiryInterval, s.disconnectedAt, s.username ?? null, s.listenerPort ?? null);
  }

  deleteSession(clientId: string, deliveries: Iterable<Delivery>): void {
    const st = this.write();
    for (const d of deliveries) {
      if (!d.storeSeq) continue;
      d.storeSeq = 0;
      this.unref(d.message);
    }
    this.run(st.deleteSession!, clientId);
    this.run(st.deleteSessionSubs!, clientId);
    this.run(st.deleteSessionDeliveries!, clientId);
    this.run(st.deleteSessionQos2!, clientId);
  }

  saveSubscription(clientId: string, e: SubscriptionEntry): void {
    this.run(
      this.write().saveSubscription!,
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
    this.run(this.write().deleteSubscription!, clientId, filter);
  }

  // ---- outgoing deliveries

  addDelivery(clientId: string, d: Delivery): void {
    const messageId = this.ref(d.message);
    const seq = this.nextSeq++;
    const group = d.group;
    this.run(
      this.write().insertDelivery!,
      seq,
      clientId,
      messageId,
      d.qos,
      d.retain ? 1 : 0,
      encodeIds(d.subscriptionIds),
      d.packetId,
      d.released ? 1 : 0,
      group === undefined ? null : group.name,
      group === undefined ? null : group.filter,
    );
    d.storeSeq = seq;
  }

  updateDelivery(d: Delivery): void {
    if (!d.storeSeq) return;
    // A QoS 1 send may be repeated under a new identifier after a crash; QoS 2 state may not.
    this.run(this.write(d.qos === 2).updateDelivery!, d.packetId, d.released ? 1 : 0, d.storeSeq);
  }

  removeDelivery(d: Delivery): void {
    if (!d.storeSeq) return;
    // Losing this delete means one more delivery after a crash, which QoS 1 allows; for QoS 2 the client
    // answers a resent PUBREL whatever its state.
    this.write(false);
    this.deadDeliveries.push(d.storeSeq);
    d.storeSeq = 0;
    this.unref(d.message);
  }

  // ---- incoming QoS 2, retained, wills

  addIncomingQos2(clientId: string, packetId: number): void {
    this.run(this.write().addQos2!, clientId, packetId);
  }

  removeIncomingQos2(clientId: string, packetId: number): void {
    this.run(this.write().removeQos2!, clientId, packetId);
  }

  setRetained(topic: string, message: Message | undefined, previous: Message | undefined): void {
    if (message === previous) return;
    const st = this.write();
    if (message === undefined) this.run(st.deleteRetained!, topic);
    else this.run(st.setRetained!, topic, this.ref(message));
    if (previous !== undefined) this.unref(previous);
  }

  saveWill(w: StoredWill): void {
    const will = w.will;
    this.run(
      this.write().saveWill!,
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
    this.run(this.write().deleteWill!, clientId);
  }

  // ---- start-up

  load(now: number): RestoredState {
    this.commit();
    const db = this.db;
    const state: RestoredState = {
      sessions: [],
      subscriptions: [],
      deliveries: [],
      incomingQos2: [],
      retained: [],
      wills: [],
    };
    db.exec('BEGIN');
    try {
      // Sessions of clients connected when the broker stopped count as disconnected now.
      db.prepare('UPDATE sessions SET disconnected_at = ? WHERE disconnected_at = 0').run(now);
      db.prepare(
        `DELETE FROM sessions WHERE expiry_interval <> ${NEVER_EXPIRES} AND disconnected_at + expiry_interval * 1000 <= ?`,
      ).run(now);
      for (const t of ['subscriptions', 'deliveries', 'incoming_qos2']) {
        db.exec(`DELETE FROM ${t} WHERE client_id NOT IN (SELECT client_id FROM sessions)`);
      }
      db.prepare('DELETE FROM messages WHERE expires_at <> 0 AND expires_at <= ?').run(now);
      db.exec('DELETE FROM deliveries WHERE message_id NOT IN (SELECT id FROM messages)');
      db.exec('DELETE FROM retained WHERE message_id NOT IN (SELECT id FROM messages)');
      db.exec(`DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM deliveries)
               AND id NOT IN (SELECT message_id FROM retained)`);
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw classify(this.description, err);
    }

    const messages = new Map<number, Message>();
    for (const row of db
      .prepare('SELECT * FROM messages ORDER BY id')
      .iterate() as IterableIterator<MessageRow>) {
      const m = new Message(
        row.topic,
        row.payload,
        row.qos as QoS,
        row.retain !== 0,
        decodeProperties(row.properties),
        row.origin,
        row.expires_at,
      );
      m.storeId = row.id;
      if (row.source_port !== null) {
        // The publisher's listener hooks are found by port when the source is checked (check_retain_source).
        m.source = {
          clientId: row.origin,
          username: row.source_username ?? undefined,
          protocolVersion: 4,
          remoteAddress: '',
          listenerPort: row.source_port,
          hooks: undefined,
        };
      }
      messages.set(row.id, m);
      if (row.id >= this.nextMessageId) this.nextMessageId = row.id + 1;
    }
    for (const row of db.prepare('SELECT * FROM sessions').all() as Array<Record<string, unknown>>) {
      state.sessions.push({
        clientId: row.client_id as string,
        expiryInterval: row.expiry_interval as number,
        disconnectedAt: row.disconnected_at as number,
        username: (row.username as string | null) ?? undefined,
        listenerPort: (row.listener_port as number | null) ?? undefined,
      });
    }
    for (const row of db.prepare('SELECT * FROM subscriptions').all() as Array<Record<string, unknown>>) {
      state.subscriptions.push(subscriptionFromRow(row));
    }
    for (const row of db.prepare('SELECT * FROM deliveries ORDER BY seq').iterate() as IterableIterator<
      Record<string, unknown>
    >) {
      const message = messages.get(row.message_id as number)!;
      message.storeRefs++;
      const seq = row.seq as number;
      if (seq >= this.nextSeq) this.nextSeq = seq + 1;
      const d: StoredDelivery = {
        seq,
        clientId: row.client_id as string,
        message,
        qos: row.qos as 1 | 2,
        retain: row.retain !== 0,
        subscriptionIds: decodeIds(row.subscription_ids as string | null),
        packetId: row.packet_id as number,
        released: row.released !== 0,
        shareGroup: (row.share_group as string | null) ?? undefined,
        shareFilter: (row.share_filter as string | null) ?? undefined,
      };
      state.deliveries.push(d);
    }
    for (const row of db.prepare('SELECT * FROM incoming_qos2').all() as Array<{
      client_id: string;
      packet_id: number;
    }>) {
      state.incomingQos2.push({ clientId: row.client_id, packetId: row.packet_id });
    }
    for (const row of db.prepare('SELECT * FROM retained').all() as Array<{
      topic: string;
      message_id: number;
    }>) {
      const message = messages.get(row.message_id)!;
      message.storeRefs++;
      state.retained.push(message);
    }
    for (const row of db.prepare('SELECT * FROM wills').all() as Array<Record<string, unknown>>) {
      const properties = decodeProperties(row.properties as string | null);
      const will = {
        topic: row.topic as string,
        payload: row.payload as Buffer,
        qos: row.qos as QoS,
        retain: row.retain !== 0,
        ...(properties === undefined ? {} : { properties }),
      };
      state.wills.push({
        clientId: row.client_id as string,
        will,
        dueAt: row.due_at as number,
        delay: row.delay as number,
      });
    }
    return state;
  }
}

function subscriptionFromRow(row: Record<string, unknown>): StoredSubscription {
  const group = row.share_group as string | null;
  return {
    clientId: row.client_id as string,
    filter: row.filter as string,
    matchFilter: row.match_filter as string,
    shareGroup: group === null ? undefined : group,
    qos: row.qos as QoS,
    noLocal: row.no_local !== 0,
    retainAsPublished: row.retain_as_published !== 0,
    retainHandling: row.retain_handling as 0 | 1 | 2,
    identifier: row.identifier as number,
  };
}
