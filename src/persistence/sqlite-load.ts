// Start-up read of the SQLite store: drops what expired while the broker was down, then hands back plain records
// (the broker builds its own objects from them) and the reference counts of the message rows.

import type Database from 'better-sqlite3';
import type { QoS } from '../protocol/packets.js';
import { decodeIds, decodeProperties } from './json-codec.js';
import { PersistenceError, PersistenceErrorCode } from './persistence-error.js';
import type { DeliveryLog, LogStatements } from './sqlite-log.js';
import type { RestoredState, StoredDelivery, StoredMessage, StoredSubscription } from './store.js';

const NEVER_EXPIRES = 0xffffffff;
/** Rows read per statement at start-up. */
const PAGE_ROWS = 4096;

/** A `messages` row in column order (raw mode). */
type RawMessageRow = [
  id: number,
  topic: string,
  payload: Buffer,
  qos: number,
  retain: number,
  properties: string | null,
  origin: string,
  expiresAt: number,
  sourceUsername: string | null,
  sourcePort: number | null,
];

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
export function classify(file: string, err: unknown): PersistenceError {
  if (err instanceof PersistenceError) return err;
  const code = (err as { code?: unknown }).code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new PersistenceError(PersistenceErrorCode.corrupt, file, `corrupt or not a database (${text})`);
  }
  return new PersistenceError(PersistenceErrorCode.cannotOpen, file, text);
}

export function loadState(
  db: Database.Database,
  description: string,
  now: number,
  log: DeliveryLog,
  logStatements: LogStatements,
): { state: RestoredState; refs: Map<number, number> } {
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
    db.prepare(
      'DELETE FROM deliveries WHERE m_topic IS NOT NULL AND m_expires_at <> 0 AND m_expires_at <= ?',
    ).run(now);
    // Deliveries carrying their message inline (m_topic not NULL) need no `messages` row.
    db.exec('DELETE FROM deliveries WHERE m_topic IS NULL AND message_id NOT IN (SELECT id FROM messages)');
    db.exec('DELETE FROM retained WHERE message_id NOT IN (SELECT id FROM messages)');
    db.exec(`DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM deliveries WHERE m_topic IS NULL)
             AND id NOT IN (SELECT message_id FROM retained)`);
    db.exec('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw classify(description, err);
  }

  // Messages by id: those with a row, then those read inline from a delivery (shared by id all the same).
  const messages = new Map<number, StoredMessage>();
  const rowed = new Set<number>();
  // 2 x references + 1 when the message has a row: the store's bookkeeping (sqlite-store.ts).
  const refs = new Map<number, number>();
  const ref = (message: StoredMessage): StoredMessage => {
    const id = message.id;
    refs.set(id, (refs.get(id) ?? (rowed.has(id) ? 1 : 0)) + 2);
    return message;
  };
  // Pages of rows as arrays (raw): half the CPU of one object per row, and no million rows alive at once.
  const page = db
    .prepare(
      `SELECT id, topic, payload, qos, retain, properties, origin, expires_at, source_username, source_port
       FROM messages WHERE id > ? ORDER BY id LIMIT ${PAGE_ROWS}`,
    )
    .raw();
  for (let last = -1; ; ) {
    const rows = page.all(last) as RawMessageRow[];
    for (const r of rows) {
      const id = r[0];
      messages.set(id, {
        id,
        topic: r[1],
        payload: r[2],
        qos: r[3] as QoS,
        retain: r[4] !== 0,
        properties: decodeProperties(r[5]),
        origin: r[6],
        expiresAt: r[7],
        source: r[9] === null ? undefined : { username: r[8] ?? undefined, listenerPort: r[9] },
      });
      rowed.add(id);
    }
    if (rows.length < PAGE_ROWS) break;
    last = rows[rows.length - 1]![0];
  }
  for (const row of rows(db, 'SELECT * FROM sessions')) {
    state.sessions.push({
      clientId: row.client_id as string,
      expiryInterval: row.expiry_interval as number,
      disconnectedAt: row.disconnected_at as number,
      username: (row.username as string | null) ?? undefined,
      listenerPort: (row.listener_port as number | null) ?? undefined,
    });
  }
  for (const row of rows(db, 'SELECT * FROM subscriptions')) {
    state.subscriptions.push(subscriptionFromRow(row));
  }
  for (const row of db.prepare('SELECT * FROM deliveries ORDER BY seq').iterate() as IterableIterator<
    Record<string, unknown>
  >) {
    const id = row.message_id as number;
    let message = messages.get(id);
    if (message === undefined) {
      message = messageFromRow(inlineMessageRow(id, row));
      messages.set(id, message);
    }
    ref(message);
    const seq = row.seq as number;
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
  let logged: StoredDelivery[];
  try {
    logged = log.restore(db, logStatements, new Set(state.sessions.map((s) => s.clientId)), now, messages);
  } catch (err) {
    throw classify(description, err);
  }
  if (logged.length > 0) {
    for (const d of logged) {
      ref(d.message);
      state.deliveries.push(d);
    }
    // The broker queues them in this order [MQTT-4.6.0-6].
    state.deliveries.sort((a, b) => a.seq - b.seq);
  }
  for (const row of rows<{ client_id: string; packet_id: number }>(db, 'SELECT * FROM incoming_qos2')) {
    state.incomingQos2.push({ clientId: row.client_id, packetId: row.packet_id });
  }
  for (const id of db.prepare('SELECT message_id FROM retained').pluck().all() as number[]) {
    state.retained.push(ref(messages.get(id)!));
  }
  for (const row of rows(db, 'SELECT * FROM wills')) {
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
  return { state, refs };
}

/**
 * A table's rows one at a time: each row object dies young, where `.all()` would keep a million of them alive
 * to the end of the restore and have the collector copy them all to the old generation.
 */
function rows<T = Record<string, unknown>>(db: Database.Database, sql: string): IterableIterator<T> {
  return db.prepare(sql).iterate() as IterableIterator<T>;
}

function messageFromRow(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    topic: row.topic,
    payload: row.payload,
    qos: row.qos as QoS,
    retain: row.retain !== 0,
    properties: decodeProperties(row.properties),
    origin: row.origin,
    expiresAt: row.expires_at,
    source:
      row.source_port === null
        ? undefined
        : { username: row.source_username ?? undefined, listenerPort: row.source_port },
  };
}

/** The message columns of a delivery row that carries its message (schema version 4). */
function inlineMessageRow(id: number, row: Record<string, unknown>): MessageRow {
  return {
    id,
    topic: row.m_topic as string,
    payload: row.m_payload as Buffer,
    qos: row.m_qos as number,
    retain: row.m_retain as number,
    properties: row.m_properties as string | null,
    origin: row.m_origin as string,
    expires_at: row.m_expires_at as number,
    source_username: row.m_source_username as string | null,
    source_port: row.m_source_port as number | null,
  };
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
