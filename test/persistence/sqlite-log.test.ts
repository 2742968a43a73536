// The SQLite store's delivery log (schema version 5): a turn's QoS 1 deliveries carrying their message in one
// row, finished ones remembered until the row goes, changes moving a delivery out, restarts and migration.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Delivery } from '../../src/broker/session.js';
import { checkDatabase } from '../../src/persistence/check-db.js';
import { SqliteStore } from '../../src/persistence/sqlite-store.js';
import { tempDir } from '../helpers/processes.js';
import { delivery, msg } from './store-contract.js';

const count = (file: string, table: string): number => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

function open(file: string, ...clients: string[]): SqliteStore {
  const store = new SqliteStore(file);
  store.load(Date.now());
  for (const c of clients) store.saveSession({ clientId: c, expiryInterval: 600, disconnectedAt: 0 });
  return store;
}

const payloads = (file: string): string[] => {
  const store = new SqliteStore(file);
  try {
    return store
      .load(Date.now())
      .deliveries.map(
        (d) =>
          `${d.clientId}:${d.message.payload}:${d.packetId}${d.message.topic === 't' ? '' : ` ${d.message.topic}`}`,
      );
  } finally {
    store.close();
  }
};

test('a turn of QoS 1 deliveries is one log row; its finished ones are not resent after a restart', () => {
  const file = join(tempDir(), 's.db');
  // Names beyond ASCII take the encoder's other path.
  const store = open(file, 'a', 'bé');
  const all: Delivery[] = [];
  for (let i = 0; i < 6; i++) {
    const d = delivery(msg(i === 3 ? 'tö/😀' : 't', `m${i}`), 1, i + 1);
    all.push(d);
    store.addDelivery(i % 2 === 0 ? 'a' : 'bé', d);
  }
  store.commit();
  assert.deepEqual(
    [count(file, 'delivery_log'), count(file, 'deliveries'), count(file, 'messages')],
    [1, 0, 0],
  );
  store.removeDelivery(all[1]!);
  store.removeDelivery(all[4]!);
  store.commit();
  assert.deepEqual([count(file, 'delivery_log'), count(file, 'log_dead')], [1, 1]);
  assert.equal(checkDatabase(file).counts.deliveries, 4);
  store.close();
  assert.deepEqual(payloads(file), ['a:m0:1', 'a:m2:3', 'bé:m3:4 tö/😀', 'bé:m5:6']);

  // The rest finish after the restart: the row and its list of finished seqs go together.
  const again = open(file);
  for (const i of [0, 2, 3, 5]) again.removeDelivery(all[i]!);
  again.commit();
  assert.deepEqual([count(file, 'delivery_log'), count(file, 'log_dead')], [0, 0]);
  again.close();
  assert.deepEqual(payloads(file), []);
});

test('a logged delivery that changes later moves to a row of its own; one changed in its turn does not', () => {
  const file = join(tempDir(), 's.db');
  const store = open(file, 'c');
  const queued = delivery(msg('t', 'queued'), 1);
  const sentAtOnce = delivery(msg('t', 'at once'), 1);
  const other = delivery(msg('t', 'other'), 1, 3);
  for (const d of [queued, sentAtOnce, other]) store.addDelivery('c', d);
  // Given its identifier in the same turn (as a copy: the store takes what it is given).
  store.updateDelivery({ ...sentAtOnce, packetId: 9 });
  store.commit();
  assert.equal(count(file, 'deliveries'), 0);
  store.updateDelivery({ ...queued, packetId: 7 });
  store.commit();
  assert.deepEqual(
    [count(file, 'deliveries'), count(file, 'delivery_log'), count(file, 'log_dead')],
    [1, 1, 1],
  );
  store.close();
  // Once each, in their order, with their latest identifiers.
  assert.deepEqual(payloads(file), ['c:queued:7', 'c:at once:9', 'c:other:3']);
  const again = open(file);
  for (const d of [queued, sentAtOnce, other]) again.removeDelivery(d);
  again.commit();
  again.close();
  assert.deepEqual(
    ['deliveries', 'delivery_log', 'log_dead', 'messages'].map((t) => count(file, t)),
    [0, 0, 0, 0],
  );
});

test('log and rows restore in seq order; a session gone at start-up takes its logged deliveries for good', () => {
  const file = join(tempDir(), 's.db');
  const store = open(file, 'keep');
  store.saveSession({ clientId: 'gone', expiryInterval: 1, disconnectedAt: Date.now() - 60_000 });
  const shared = msg('t', 'shared');
  store.addDelivery('keep', delivery(msg('t', 'q1'), 1));
  store.addDelivery('keep', delivery(msg('t', 'q2'), 2));
  store.addDelivery('gone', delivery(msg('t', 'lost'), 1));
  store.addDelivery('keep', delivery(shared, 1));
  store.addDelivery('gone', delivery(shared, 1));
  store.addDelivery('keep', delivery(msg('t', 'q1 again'), 1));
  store.commit();
  store.close();
  // QoS 2 and the second reference to `shared` are rows; the rest the log's.
  assert.equal(count(file, 'deliveries'), 2);
  assert.deepEqual(payloads(file), ['keep:q1:0', 'keep:q2:0', 'keep:shared:0', 'keep:q1 again:0']);
  // A new session of the same client id gets nothing of the old one's.
  const again = open(file, 'gone');
  again.close();
  assert.deepEqual(payloads(file), ['keep:q1:0', 'keep:q2:0', 'keep:shared:0', 'keep:q1 again:0']);
  assert.equal(checkDatabase(file).counts.deliveries, 4);
});

test('a version 4 database is migrated to version 5: its rows stay, new QoS 1 deliveries go to the log', () => {
  const file = join(tempDir(), 'v4.db');
  const before = open(file, 'c');
  const old = delivery(msg('t', 'old'), 2, 4);
  before.addDelivery('c', old);
  before.close();
  const v4 = new Database(file);
  v4.exec('DROP TABLE delivery_log; DROP TABLE log_dead; PRAGMA user_version = 4;');
  v4.close();
  const store = open(file);
  store.addDelivery('c', delivery(msg('t', 'new'), 1, 5));
  store.commit();
  store.close();
  const check = checkDatabase(file);
  assert.equal(check.ok, true, check.problems.join('; '));
  assert.deepEqual(
    [count(file, 'deliveries'), count(file, 'delivery_log'), check.counts.deliveries],
    [1, 1, 2],
  );
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), 5);
  db.close();
  assert.deepEqual(payloads(file), ['c:old:4', 'c:new:5']);
});

test('the id of a finished logged message may be given again: a restart reads the new message, not the old', () => {
  const file = join(tempDir(), 's.db');
  const store = open(file, 'c');
  const kept = msg('t', 'kept');
  const gone = msg('t', 'gone');
  [kept.id, gone.id] = [100, 101];
  const finished = delivery(gone, 1, 2);
  store.addDelivery('c', delivery(kept, 1, 1));
  store.addDelivery('c', finished);
  store.commit();
  store.removeDelivery(finished);
  store.commit();
  store.close();
  // The broker numbers new messages after the largest id it restored (100): 101 again.
  const again = open(file);
  const fresh = msg('t', 'new');
  fresh.id = 101;
  again.addDelivery('c', delivery(fresh, 1, 3));
  again.commit();
  again.close();
  assert.deepEqual(payloads(file), ['c:kept:1', 'c:new:3']);
});

test('a turn of more than 256 logged deliveries takes several rows, each finished and deleted on its own', () => {
  const file = join(tempDir(), 's.db');
  const store = open(file, 'c');
  const all: Delivery[] = [];
  for (let i = 0; i < 600; i++) {
    const d = delivery(msg('t', `m${i}`), 1);
    all.push(d);
    store.addDelivery('c', d);
  }
  // In the same turn: one dropped from the first row, one of the second row given its identifier.
  store.removeDelivery(all[5]!);
  store.updateDelivery({ ...all[300]!, packetId: 42 });
  store.commit();
  assert.deepEqual([count(file, 'delivery_log'), count(file, 'deliveries')], [3, 0]);
  // The first row finishes; the second only in part.
  for (let i = 0; i < 256; i++) if (i !== 5) store.removeDelivery(all[i]!);
  for (let i = 256; i < 290; i++) store.removeDelivery(all[i]!);
  store.commit();
  assert.deepEqual([count(file, 'delivery_log'), count(file, 'log_dead')], [2, 1]);
  store.close();
  const left = payloads(file);
  assert.equal(left.length, 600 - 256 - 34);
  assert.deepEqual([left[0], left[10], left.at(-1)], ['c:m290:0', 'c:m300:42', 'c:m599:0']);
});

test('finished seqs left without their row are dropped at start-up', () => {
  const file = join(tempDir(), 's.db');
  open(file, 'c').close();
  const db = new Database(file);
  db.prepare('INSERT INTO log_dead (id, seqs) VALUES (?, ?)').run(77, Buffer.alloc(8));
  db.close();
  assert.deepEqual(payloads(file), []);
  assert.equal(count(file, 'log_dead'), 0);
});
