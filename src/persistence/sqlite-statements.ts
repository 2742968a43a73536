// Every statement the SQLite store writes with, prepared once when the database opens (schema.ts has the tables).

import type Database from 'better-sqlite3';
import type { DeleteStatements } from './sqlite-deletes.js';
import type { LogStatements } from './sqlite-log.js';

type Statement = Database.Statement;

/** New deliveries are inserted many rows per statement (sqlite-batch.ts): the head and the width of a row. */
export const DELIVERY_COLUMNS = 10;
/** A delivery referring to its message's `messages` row; the `m_` columns are left NULL. */
export const DELIVERY_INSERT = `INSERT INTO deliveries (seq, client_id, message_id, qos, retain, subscription_ids,
  packet_id, released, share_group, share_filter) VALUES`;
export const INLINE_DELIVERY_COLUMNS = 19;
/** A delivery carrying its message. */
export const INLINE_DELIVERY_INSERT = `INSERT INTO deliveries (seq, client_id, message_id, qos, retain,
  subscription_ids, packet_id, released, share_group, share_filter, m_topic, m_payload, m_qos, m_retain,
  m_properties, m_origin, m_expires_at, m_source_username, m_source_port) VALUES`;

export interface WriteStatements extends DeleteStatements, LogStatements {
  begin: Statement;
  commit: Statement;
  rollback: Statement;
  insertMessage: Statement;
  saveSession: Statement;
  deleteSession: Statement;
  deleteSessionSubs: Statement;
  deleteSessionQos2: Statement;
  saveSubscription: Statement;
  deleteSubscription: Statement;
  updateDelivery: Statement;
  addQos2: Statement;
  removeQos2: Statement;
  setRetained: Statement;
  deleteRetained: Statement;
  saveWill: Statement;
  deleteWill: Statement;
}

export function prepareStatements(db: Database.Database): WriteStatements {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    begin: p('BEGIN'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    insertMessage: p(
      `INSERT INTO messages (id, topic, payload, qos, retain, properties, origin, expires_at, source_username,
       source_port) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    messageList: p('DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
    saveSession: p(
      'INSERT OR REPLACE INTO sessions (client_id, expiry_interval, disconnected_at, username, listener_port) VALUES (?, ?, ?, ?, ?)',
    ),
    deleteSession: p('DELETE FROM sessions WHERE client_id = ?'),
    deleteSessionSubs: p('DELETE FROM subscriptions WHERE client_id = ?'),
    deleteSessionQos2: p('DELETE FROM incoming_qos2 WHERE client_id = ?'),
    saveSubscription: p(
      `INSERT OR REPLACE INTO subscriptions (client_id, filter, match_filter, share_group, qos, no_local,
       retain_as_published, retain_handling, identifier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteSubscription: p('DELETE FROM subscriptions WHERE client_id = ? AND filter = ?'),
    updateDelivery: p('UPDATE deliveries SET packet_id = ?, released = ? WHERE seq = ?'),
    deliveryRange: p('DELETE FROM deliveries WHERE seq BETWEEN ? AND ?'),
    deliveryList: p('DELETE FROM deliveries WHERE seq IN (SELECT value FROM json_each(?))'),
    addQos2: p('INSERT OR IGNORE INTO incoming_qos2 (client_id, packet_id) VALUES (?, ?)'),
    removeQos2: p('DELETE FROM incoming_qos2 WHERE client_id = ? AND packet_id = ?'),
    setRetained: p('INSERT OR REPLACE INTO retained (topic, message_id) VALUES (?, ?)'),
    deleteRetained: p('DELETE FROM retained WHERE topic = ?'),
    saveWill: p(
      'INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, due_at, delay) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    deleteWill: p('DELETE FROM wills WHERE client_id = ?'),
    insertLog: p('INSERT INTO delivery_log (id, data) VALUES (?, ?)'),
    saveDead: p('INSERT OR REPLACE INTO log_dead (id, seqs) VALUES (?, ?)'),
    logRange: p('DELETE FROM delivery_log WHERE id BETWEEN ? AND ?'),
    deadRange: p('DELETE FROM log_dead WHERE id BETWEEN ? AND ?'),
  };
}
