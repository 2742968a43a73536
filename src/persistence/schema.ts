// The on-disk layout of a Culex persistence database, and the check that a file really has it.
// A message delivered to many sessions is one `messages` row; `deliveries` and `retained` rows refer to it. A
// message with a single delivery is stored inside that delivery's row (the `m_` columns), so the common case
// of one persistent subscriber costs one row inserted and deleted instead of two (and no second payload copy).
// Since version 5, such deliveries when QoS 1 are not rows at all: a turn's go into one `delivery_log` row
// (sqlite-log.ts).

import type Database from 'better-sqlite3';

/** Bumped whenever the layout changes; stored in PRAGMA user_version. Older versions are migrated. */
export const SCHEMA_VERSION = 5;
/** PRAGMA application_id: "CULX", so that `file` and Culex recognise their own databases. */
export const APPLICATION_ID = 0x43554c58;

/** The message inlined in a delivery row (all NULL when the row refers to a `messages` row instead). */
const INLINE_MESSAGE_COLUMNS = [
  'm_topic',
  'm_payload',
  'm_qos',
  'm_retain',
  'm_properties',
  'm_origin',
  'm_expires_at',
  'm_source_username',
  'm_source_port',
] as const;

/** Table name -> column names, in order. */
export const TABLES: Readonly<Record<string, readonly string[]>> = {
  messages: [
    'id',
    'topic',
    'payload',
    'qos',
    'retain',
    'properties',
    'origin',
    'expires_at',
    'source_username',
    'source_port',
  ],
  sessions: ['client_id', 'expiry_interval', 'disconnected_at', 'username', 'listener_port'],
  subscriptions: [
    'client_id',
    'filter',
    'match_filter',
    'share_group',
    'qos',
    'no_local',
    'retain_as_published',
    'retain_handling',
    'identifier',
  ],
  deliveries: [
    'seq',
    'client_id',
    'message_id',
    'qos',
    'retain',
    'subscription_ids',
    'packet_id',
    'released',
    'share_group',
    'share_filter',
    ...INLINE_MESSAGE_COLUMNS,
  ],
  incoming_qos2: ['client_id', 'packet_id'],
  retained: ['topic', 'message_id'],
  wills: ['client_id', 'topic', 'payload', 'qos', 'retain', 'properties', 'due_at', 'delay'],
  delivery_log: ['id', 'data'],
  log_dead: ['id', 'seqs'],
};

const CREATE = `
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
  retain INTEGER NOT NULL, properties TEXT, origin TEXT NOT NULL, expires_at INTEGER NOT NULL,
  source_username TEXT, source_port INTEGER);
CREATE TABLE sessions (
  client_id TEXT PRIMARY KEY, expiry_interval INTEGER NOT NULL, disconnected_at INTEGER NOT NULL,
  username TEXT, listener_port INTEGER) WITHOUT ROWID;
CREATE TABLE subscriptions (
  client_id TEXT NOT NULL, filter TEXT NOT NULL, match_filter TEXT NOT NULL, share_group TEXT,
  qos INTEGER NOT NULL, no_local INTEGER NOT NULL, retain_as_published INTEGER NOT NULL,
  retain_handling INTEGER NOT NULL, identifier INTEGER NOT NULL,
  PRIMARY KEY (client_id, filter)) WITHOUT ROWID;
CREATE TABLE deliveries (
  seq INTEGER PRIMARY KEY, client_id TEXT NOT NULL, message_id INTEGER NOT NULL, qos INTEGER NOT NULL,
  retain INTEGER NOT NULL, subscription_ids TEXT, packet_id INTEGER NOT NULL, released INTEGER NOT NULL,
  share_group TEXT, share_filter TEXT,
  m_topic TEXT, m_payload BLOB, m_qos INTEGER, m_retain INTEGER, m_properties TEXT, m_origin TEXT,
  m_expires_at INTEGER, m_source_username TEXT, m_source_port INTEGER);
CREATE TABLE incoming_qos2 (
  client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;
CREATE TABLE retained (topic TEXT PRIMARY KEY, message_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE wills (
  client_id TEXT PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
  retain INTEGER NOT NULL, properties TEXT, due_at INTEGER NOT NULL, delay INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE delivery_log (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE log_dead (id INTEGER PRIMARY KEY, seqs BLOB NOT NULL);
`;

/**
 * Version 1 -> 2: deliveries remember the share group they came through (share_group, share_filter), and
 * wills of connected clients are kept (due_at 0 = armed, with their Will Delay Interval in `delay`).
 */
const MIGRATE_1_TO_2 = `
ALTER TABLE deliveries ADD COLUMN share_group TEXT;
ALTER TABLE deliveries ADD COLUMN share_filter TEXT;
ALTER TABLE wills ADD COLUMN delay INTEGER NOT NULL DEFAULT 0;
`;

/**
 * Version 2 -> 3: messages remember who published them (username, listener port; the client id is `origin`),
 * for check_retain_source, and sessions whose client they belong to, for the ACL checks made while it is away.
 * NULL port = unknown (rows written before version 3).
 */
const MIGRATE_2_TO_3 = `
ALTER TABLE messages ADD COLUMN source_username TEXT;
ALTER TABLE messages ADD COLUMN source_port INTEGER;
ALTER TABLE sessions ADD COLUMN username TEXT;
ALTER TABLE sessions ADD COLUMN listener_port INTEGER;
`;

/**
 * Version 3 -> 4: a delivery row may carry its message itself (m_topic not NULL: `message_id` is then the
 * broker's id of it, and a `messages` row of that id exists only when something else refers to it too).
 * Rows written before are all references, as the new columns are NULL. The index on client_id goes: a
 * session's deliveries are deleted by seq (the broker lists them), so no delivery pays for an index entry.
 */
const MIGRATE_3_TO_4 = `
ALTER TABLE deliveries ADD COLUMN m_topic TEXT;
ALTER TABLE deliveries ADD COLUMN m_payload BLOB;
ALTER TABLE deliveries ADD COLUMN m_qos INTEGER;
ALTER TABLE deliveries ADD COLUMN m_retain INTEGER;
ALTER TABLE deliveries ADD COLUMN m_properties TEXT;
ALTER TABLE deliveries ADD COLUMN m_origin TEXT;
ALTER TABLE deliveries ADD COLUMN m_expires_at INTEGER;
ALTER TABLE deliveries ADD COLUMN m_source_username TEXT;
ALTER TABLE deliveries ADD COLUMN m_source_port INTEGER;
DROP INDEX IF EXISTS deliveries_by_client;
`;

/**
 * Version 4 -> 5: the delivery log. A row of `delivery_log` holds the QoS 1 deliveries of one turn that carry
 * their message (sqlite-log-codec.ts has the layout); `log_dead` the seqs of a row's finished deliveries while
 * others in it are not. Rows written before stay in `deliveries`.
 */
const MIGRATE_4_TO_5 = `
CREATE TABLE delivery_log (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE log_dead (id INTEGER PRIMARY KEY, seqs BLOB NOT NULL);
`;

/** Brings a Culex database of an older layout up to SCHEMA_VERSION; leaves anything else alone. */
export function migrate(db: Database.Database): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (appId !== APPLICATION_ID || version < 1 || version >= SCHEMA_VERSION) return;
  db.exec('BEGIN');
  if (version < 2) db.exec(MIGRATE_1_TO_2);
  if (version < 3) db.exec(MIGRATE_2_TO_3);
  if (version < 4) db.exec(MIGRATE_3_TO_4);
  db.exec(MIGRATE_4_TO_5);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  db.exec('COMMIT');
}

/** Creates the tables in an empty database. */
export function createSchema(db: Database.Database): void {
  db.exec('BEGIN');
  db.exec(CREATE);
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  db.exec('COMMIT');
}

/** Whether the database has no tables at all (a new file). */
export function isEmpty(db: Database.Database): boolean {
  const row = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
    n: number;
  };
  return row.n === 0;
}

/** Problems with the layout of an existing database; empty when it is a Culex database of this version. */
export function schemaProblems(db: Database.Database): string[] {
  const problems: string[] = [];
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== APPLICATION_ID) problems.push('not a Culex persistence database (application_id)');
  if (version !== SCHEMA_VERSION) problems.push(`schema version ${version}, expected ${SCHEMA_VERSION}`);
  for (const [table, columns] of Object.entries(TABLES)) {
    const found = (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);
    if (found.length === 0) problems.push(`table ${table} missing`);
    else if (found.join(',') !== columns.join(','))
      problems.push(`table ${table} has columns ${found.join(',')}`);
  }
  return problems;
}
