// Unit tests of the SQLite store: the store contract (store-contract.ts) with what the file holds, migrations,
// and the errors a person gets for a corrupt, foreign or unreachable database (library and `culex` CLI,
// including --check-db).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Delivery } from '../../src/broker/session.js';
import { checkDatabase } from '../../src/persistence/check-db.js';
import { PersistenceError, PersistenceErrorCode } from '../../src/persistence/persistence-error.js';
import { SqliteStore } from '../../src/persistence/sqlite-store.js';
import { CULEX_BIN, tempDir } from '../helpers/processes.js';
import { delivery, msg, storeContract } from './store-contract.js';

const rows = (file: string, table: string, where = ''): number => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table} ${where}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

/** Stored deliveries: `deliveries` rows and the delivery log's unfinished ones (schema version 5). */
const stored = (file: string): number => checkDatabase(file).counts.deliveries!;

storeContract<SqliteStore>({
  name: 'SQLite store',
  skip: false,
  place: () => join(tempDir(), 's.db'),
  open: (file) => new SqliteStore(file),
  async shut(store) {
    store.close();
  },
  storedMessages: (file) => rows(file, 'messages'),
  afterRoundTrip(state, file, m1) {
    // One object for a/1 although a delivery and the retained table both refer to it.
    assert.equal(state.retained[0], state.deliveries[0]?.message);
    assert.equal(state.retained[0]?.id, m1.id);
    // a/1 is inline in its delivery and got a row when the retained table referred to it too; a/2, delivered
    // once, lives in its delivery row only.
    assert.equal(checkDatabase(file).counts.messages, 1);
  },
  afterExpiry(_again, file) {
    // The messages were inline in their deliveries: the expired one went with its delivery row.
    assert.deepEqual([checkDatabase(file).counts.messages, checkDatabase(file).counts.deliveries], [0, 2]);
  },
});

test('deletes deferred to the commit remove exactly their rows', () => {
  const file = join(tempDir(), 's.db');
  const store = new SqliteStore(file);
  store.load(Date.now());
  store.saveSession({ clientId: 'c', expiryInterval: 60, disconnectedAt: 0 });
  const kept = delivery(msg('t', 'kept'), 1);
  const gone = delivery(msg('t', 'gone'), 1);
  for (const d of [kept, gone]) store.addDelivery('c', d);
  store.commit();
  store.removeDelivery(gone);
  // Not yet committed: still on disk for another reader.
  assert.equal(stored(file), 2);
  store.commit();
  assert.equal(stored(file), 1);
  // Each message had a single delivery: carried in its row, no `messages` row at all.
  assert.equal(rows(file, 'messages'), 0);
  store.close();
});

test('a message row goes when its last delivery or retained reference goes', () => {
  const file = join(tempDir(), 's.db');
  const store = new SqliteStore(file);
  store.load(Date.now());
  const m = msg('t', 'x');
  const a = delivery(m, 1);
  const b = delivery(m, 1);
  store.addDelivery('a', a);
  store.addDelivery('b', b);
  store.setRetained('t', m, undefined);
  store.commit();
  assert.equal(rows(file, 'messages'), 1);
  store.removeDelivery(a);
  store.deleteSession('b', [b]);
  store.commit();
  assert.equal(rows(file, 'messages'), 1);
  // The session's deliveries went by seq (no client_id index since version 4).
  assert.equal(rows(file, 'deliveries'), 0);
  store.setRetained('t', undefined, m);
  store.commit();
  assert.equal(rows(file, 'messages'), 0);
  store.close();
});

test('a version 1 database is migrated in place and keeps its rows', () => {
  const file = join(tempDir(), 'v1.db');
  const v1 = new Database(file);
  v1.exec(`
    CREATE TABLE messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
      retain INTEGER NOT NULL, properties TEXT, origin TEXT NOT NULL, expires_at INTEGER NOT NULL);
    CREATE TABLE sessions (client_id TEXT PRIMARY KEY, expiry_interval INTEGER NOT NULL,
      disconnected_at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, match_filter TEXT NOT NULL,
      share_group TEXT, qos INTEGER NOT NULL, no_local INTEGER NOT NULL, retain_as_published INTEGER NOT NULL,
      retain_handling INTEGER NOT NULL, identifier INTEGER NOT NULL, PRIMARY KEY (client_id, filter)) WITHOUT ROWID;
    CREATE TABLE deliveries (seq INTEGER PRIMARY KEY, client_id TEXT NOT NULL, message_id INTEGER NOT NULL,
      qos INTEGER NOT NULL, retain INTEGER NOT NULL, subscription_ids TEXT, packet_id INTEGER NOT NULL,
      released INTEGER NOT NULL);
    CREATE INDEX deliveries_by_client ON deliveries (client_id);
    CREATE TABLE incoming_qos2 (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL,
      PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;
    CREATE TABLE retained (topic TEXT PRIMARY KEY, message_id INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE wills (client_id TEXT PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
      retain INTEGER NOT NULL, properties TEXT, due_at INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO sessions VALUES ('c', 60, 0);
    INSERT INTO messages VALUES (1, 't', x'6869', 1, 0, NULL, 'p', 0);
    INSERT INTO deliveries VALUES (1, 'c', 1, 1, 0, NULL, 0, 0);
    INSERT INTO wills VALUES ('c', 'w', x'', 0, 0, NULL, 99);
    PRAGMA application_id = 1129663576;
    PRAGMA user_version = 1;
  `);
  v1.close();
  const store = new SqliteStore(file);
  const state = store.load(Date.now());
  assert.equal(state.deliveries[0]?.message.payload.toString(), 'hi');
  assert.equal(state.deliveries[0]?.shareGroup, undefined);
  assert.deepEqual([state.wills[0]?.dueAt, state.wills[0]?.delay], [99, 0]);
  // Rows older than version 3 have no owner or source: unknown, so not checked.
  assert.deepEqual([state.sessions[0]?.username, state.sessions[0]?.listenerPort], [undefined, undefined]);
  assert.equal(state.deliveries[0]?.message.source, undefined);
  store.close();
  assert.equal(checkDatabase(file).ok, true);
});

test('a session keeps its owner and a retained message its source (check_retain_source) across a restart', () => {
  const file = join(tempDir(), 'owner.db');
  const store = new SqliteStore(file);
  store.load(Date.now());
  store.saveSession({
    clientId: 'c',
    expiryInterval: 60,
    disconnectedAt: Date.now(),
    username: 'bob',
    listenerPort: 1884,
  });
  store.saveSession({ clientId: 'anon', expiryInterval: 60, disconnectedAt: Date.now(), listenerPort: 1883 });
  const m = msg('t', 'x');
  m.source = {
    clientId: 'p',
    username: 'alice',
    protocolVersion: 5,
    remoteAddress: '',
    listenerPort: 8883,
    hooks: {},
  };
  store.setRetained('t', m, undefined);
  store.close();
  const again = new SqliteStore(file);
  const state = again.load(Date.now());
  const owners = state.sessions.map((s) => [s.clientId, s.username, s.listenerPort]).sort();
  assert.deepEqual(owners, [
    ['anon', undefined, 1883],
    ['c', 'bob', 1884],
  ]);
  const source = state.retained[0]?.source;
  assert.deepEqual(
    [state.retained[0]?.origin, source?.username, source?.listenerPort],
    [m.origin, 'alice', 8883],
  );
  again.close();
});

test('a message inline in its first delivery gets a row for a second one, and both survive restarts', () => {
  const file = join(tempDir(), 's.db');
  const store = new SqliteStore(file);
  store.load(Date.now());
  for (const c of ['a', 'b']) store.saveSession({ clientId: c, expiryInterval: 60, disconnectedAt: 0 });
  const m = msg('t', 'shared later');
  const a = delivery(m, 1);
  store.addDelivery('a', a);
  store.commit();
  const count = (table: string, where = ''): number => rows(file, table, where);
  // QoS 1 and its message's only reference: in the turn's delivery log row (version 5), message inline.
  assert.deepEqual([count('messages'), count('delivery_log'), stored(file)], [0, 1, 1]);
  // A second reference in a later turn (a share group moving it, a session made persistent): now a row.
  const b = delivery(m, 1);
  store.addDelivery('b', b);
  store.commit();
  assert.deepEqual([count('messages'), count('deliveries', 'WHERE m_topic IS NULL')], [1, 1]);
  store.close();

  // Restart: one object for both, and the store's counts are right again (the row goes with the last one).
  const again = new SqliteStore(file);
  const state = again.load(Date.now());
  assert.equal(state.deliveries.length, 2);
  assert.equal(state.deliveries[0]?.message, state.deliveries[1]?.message);
  assert.equal(state.deliveries[0]?.message.payload.toString(), 'shared later');
  const [ra, rb] = state.deliveries.map((d) => ({ ...d, message: m, subscriptionIds: undefined }));
  again.removeDelivery(rb!);
  again.commit();
  assert.deepEqual([count('messages'), stored(file)], [1, 1]);
  again.removeDelivery(ra!);
  again.commit();
  assert.deepEqual([count('messages'), stored(file), count('delivery_log')], [0, 0, 0]);
  again.close();
});

test('a version 3 database is migrated to the current version in place: old rows keep their messages, new ones are inline', () => {
  const file = join(tempDir(), 'v3.db');
  const v3 = new Database(file);
  v3.exec(`
    CREATE TABLE messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
      retain INTEGER NOT NULL, properties TEXT, origin TEXT NOT NULL, expires_at INTEGER NOT NULL,
      source_username TEXT, source_port INTEGER);
    CREATE TABLE sessions (client_id TEXT PRIMARY KEY, expiry_interval INTEGER NOT NULL,
      disconnected_at INTEGER NOT NULL, username TEXT, listener_port INTEGER) WITHOUT ROWID;
    CREATE TABLE subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, match_filter TEXT NOT NULL,
      share_group TEXT, qos INTEGER NOT NULL, no_local INTEGER NOT NULL, retain_as_published INTEGER NOT NULL,
      retain_handling INTEGER NOT NULL, identifier INTEGER NOT NULL, PRIMARY KEY (client_id, filter)) WITHOUT ROWID;
    CREATE TABLE deliveries (seq INTEGER PRIMARY KEY, client_id TEXT NOT NULL, message_id INTEGER NOT NULL,
      qos INTEGER NOT NULL, retain INTEGER NOT NULL, subscription_ids TEXT, packet_id INTEGER NOT NULL,
      released INTEGER NOT NULL, share_group TEXT, share_filter TEXT);
    CREATE INDEX deliveries_by_client ON deliveries (client_id);
    CREATE TABLE incoming_qos2 (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL,
      PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;
    CREATE TABLE retained (topic TEXT PRIMARY KEY, message_id INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE wills (client_id TEXT PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
      retain INTEGER NOT NULL, properties TEXT, due_at INTEGER NOT NULL, delay INTEGER NOT NULL DEFAULT 0)
      WITHOUT ROWID;
    INSERT INTO sessions VALUES ('c', 60, 0, 'bob', 1883);
    INSERT INTO messages VALUES (7, 't', x'6869', 1, 0, NULL, 'p', 0, 'alice', 1884);
    INSERT INTO messages VALUES (8, 'r', x'72', 1, 1, NULL, 'p', 0, NULL, NULL);
    INSERT INTO deliveries VALUES (5, 'c', 7, 1, 0, '[2]', 0, 0, NULL, NULL);
    INSERT INTO retained VALUES ('r', 8);
    PRAGMA application_id = 1129663576;
    PRAGMA user_version = 3;
  `);
  v3.close();
  const store = new SqliteStore(file);
  const state = store.load(Date.now());
  assert.deepEqual(
    state.deliveries.map((d) => [d.seq, d.message.id, d.message.payload.toString(), d.subscriptionIds]),
    [[5, 7, 'hi', [2]]],
  );
  assert.equal(state.deliveries[0]?.message.source?.username, 'alice');
  assert.equal(state.retained[0]?.topic, 'r');
  // New writes after the migration use the version 4 layout.
  const fresh = msg('t', 'new');
  fresh.id = 9;
  const d = delivery(fresh, 1);
  d.seq = 6;
  store.addDelivery('c', d);
  store.commit();
  store.close();
  const check = checkDatabase(file);
  assert.equal(check.ok, true, check.problems.join('; '));
  assert.deepEqual([check.counts.messages, check.counts.deliveries], [2, 2]);
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), 5);
  const index = db.prepare("SELECT name FROM sqlite_master WHERE name = 'deliveries_by_client'").get();
  assert.equal(index, undefined);
  db.close();
  const again = new SqliteStore(file);
  assert.deepEqual(
    again.load(Date.now()).deliveries.map((x) => x.message.payload.toString()),
    ['hi', 'new'],
  );
  again.close();
});

function openError(file: string): PersistenceError {
  try {
    new SqliteStore(file).close();
  } catch (err) {
    assert.ok(err instanceof PersistenceError);
    return err;
  }
  assert.fail('opened');
}

test('a corrupt file, a foreign database and a missing directory are refused with the file and the reason', () => {
  const dir = tempDir();
  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, 'this is not a database at all, just text'.repeat(200));
  assert.equal(openError(garbage).code, PersistenceErrorCode.corrupt);
  assert.match(openError(garbage).message, /garbage\.db/);

  const foreign = join(dir, 'foreign.db');
  const db = new Database(foreign);
  db.exec('CREATE TABLE other (x)');
  db.close();
  assert.equal(openError(foreign).code, PersistenceErrorCode.badSchema);

  assert.equal(openError(join(dir, 'no-such-dir', 'x.db')).code, PersistenceErrorCode.cannotOpen);
  const notDir = join(dir, 'plain-file');
  writeFileSync(notDir, '');
  assert.equal(openError(join(notDir, 'x.db')).code, PersistenceErrorCode.cannotOpen);
});

test('culex exits 1 naming the file for an unusable database; --check-db says 0 for a good one and 1 otherwise', () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.db');
  writeFileSync(bad, 'x'.repeat(5000));
  const conf = join(dir, 'c.conf');
  writeFileSync(
    conf,
    `listener 0 127.0.0.1\npersistence true\npersistence_location ${dir}\npersistence_file bad.db\nuser root\n`,
  );
  const run = spawnSync(process.execPath, [CULEX_BIN, '-c', conf], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /bad\.db.*(corrupt|not a database)/);

  const good = join(dir, 'good.db');
  new SqliteStore(good).close();
  const ok = spawnSync(process.execPath, [CULEX_BIN, '--check-db', good], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /OK/);
  const ko = spawnSync(process.execPath, [CULEX_BIN, '--check-db', bad], { encoding: 'utf8' });
  assert.equal(ko.status, 1);
  assert.match(ko.stderr, /bad\.db/);
  mkdirSync(join(dir, 'sub'));
  assert.equal(spawnSync(process.execPath, [CULEX_BIN, '--check-db', join(dir, 'missing.db')]).status, 1);
});

test('a turn of many deliveries is stored many rows per statement and its acknowledged ones deleted by range', () => {
  // 157 rows = every statement size (64, 64, 16, 8, 4, 1) plus an update and a message row in between.
  const file = join(tempDir(), 's.db');
  const store = new SqliteStore(file);
  store.load(Date.now());
  store.saveSession({ clientId: 'c', expiryInterval: 60, disconnectedAt: 0 });
  const shared = msg('t', 'shared');
  const all: Delivery[] = [];
  for (let i = 0; i < 157; i++) {
    const d = delivery(i % 50 === 7 ? shared : msg('t', `m${i}`), 1, i + 1);
    all.push(d);
    store.addDelivery('c', d);
    // A statement of another kind in the middle of the turn must find the rows added before it.
    if (i === 100) store.updateDelivery({ ...all[3]!, packetId: 999 });
  }
  store.commit();
  store.close();
  const again = new SqliteStore(file);
  const state = again.load(Date.now());
  assert.deepEqual(
    state.deliveries.map((d) => d.message.payload.toString()),
    all.map((d) => d.message.payload.toString()),
  );
  assert.equal(state.deliveries[3]!.packetId, 999);
  // Acknowledged: runs of consecutive seqs (and lone ones) in any order, including the shared message's.
  const gone = new Set<number>();
  for (let i = 0; i < 157; i++) if (i < 40 || (i > 60 && i % 3 !== 0) || i === 150) gone.add(i);
  for (const i of [...gone].reverse()) again.removeDelivery(all[i]!);
  again.commit();
  again.close();
  const last = new SqliteStore(file);
  const kept = last.load(Date.now()).deliveries.map((d) => d.message.payload.toString());
  assert.deepEqual(
    kept,
    all.filter((_, i) => !gone.has(i)).map((d) => d.message.payload.toString()),
  );
  last.close();
  assert.equal(checkDatabase(file).counts.messages, 1);
});
