// `persistence_sync full` (wal-sync.ts): each commit's promise settles once an fdatasync of the WAL that
// started after the commit has ended; commits made while a sync runs share the next one.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../../src/persistence/sqlite-store.js';
import { tempDir } from '../helpers/processes.js';
import { delivery, msg } from './store-contract.js';

test('a full store commits with a promise per sync; commits during a sync share the next; all survive a restart', async () => {
  const file = join(tempDir(), 'full.db');
  const store = new SqliteStore(file, { synchronous: 'full' });
  store.load(Date.now());
  store.saveSession({ clientId: 'c', expiryInterval: 600, disconnectedAt: 0 });
  const settled: number[] = [];
  const commits: Promise<void>[] = [];
  const raw: Promise<void>[] = [];
  for (let i = 0; i < 4; i++) {
    store.addDelivery('c', delivery(msg('t', `m${i}`), 1, i + 1));
    const done = store.commit();
    assert.ok(done instanceof Promise);
    raw.push(done);
    commits.push(done.then(() => void settled.push(i)));
  }
  // Nothing written: no sync to wait for.
  assert.equal(store.commit(), undefined);
  await Promise.all(commits);
  // The first sync ran alone; the three commits made while it ran waited for the one after it, together.
  assert.notEqual(raw[0], raw[1]);
  assert.ok(raw[1] === raw[2] && raw[2] === raw[3]);
  assert.deepEqual(settled, [0, 1, 2, 3]);
  store.addDelivery('c', delivery(msg('t', 'last'), 1, 9));
  const last = store.commit();
  // Closing with a sync in flight syncs at once and closes the file once the sync is done.
  store.close();
  await last;
  const again = new SqliteStore(file, { synchronous: 'full' });
  assert.deepEqual(
    again.load(Date.now()).deliveries.map((d) => d.message.payload.toString()),
    ['m0', 'm1', 'm2', 'm3', 'last'],
  );
  again.close();
});
