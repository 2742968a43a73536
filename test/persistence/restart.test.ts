// Persistence through the broker, in process: what is on disk when an acknowledgement leaves, messages stored
// once for many sessions, QoS 2 state both ways across a restart, and clean sessions never touching the disk.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { checkDatabase } from '../../src/persistence/check-db.js';
import { SqliteStore } from '../../src/persistence/sqlite-store.js';
import { Broker } from '../../src/server/broker.js';
import { tempDir } from '../helpers/processes.js';
import { publishPacket, subscribe } from '../helpers/raw-client.js';
import {
  client,
  incomingQos2AcrossRestart,
  nextAck,
  offlineSubscriber,
  outgoingQos2AcrossRestarts,
  type RunningBroker,
} from './restart-helpers.js';

interface Running extends RunningBroker {
  broker: Broker;
}

async function start(db: string, synchronous: 'full' | 'normal' = 'normal'): Promise<Running> {
  const store = new SqliteStore(db, { synchronous });
  const broker = new Broker({ options: { connectionMessages: false }, store });
  const [l] = await broker.listen([{ port: 0, host: '127.0.0.1' }]);
  return { broker, port: l!.port, stop: () => broker.stop() };
}

/**
 * Row counts as another process would see them (committed data only); `deliveries` counts stored deliveries,
 * those in the delivery log's rows included (schema version 5).
 */
function counts(db: string): Record<string, number> {
  const d = new Database(db, { readonly: true });
  try {
    const out: Record<string, number> = {};
    for (const t of ['sessions', 'subscriptions', 'messages', 'deliveries', 'retained', 'incoming_qos2']) {
      out[t] = (d.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    }
    out.deliveries = checkDatabase(db).counts.deliveries!;
    return out;
  } finally {
    d.close();
  }
}

for (const sync of ['normal', 'full'] as const) {
  test(`[MQTT-4.3.2-2] PUBACK leaves only once the message is committed for the offline persistent session (${sync})`, async () => {
    const db = join(tempDir(), 'p.db');
    // full: the commit's fsync runs on the threadpool and the PUBACK waits for it (wal-sync.ts).
    const { broker, port } = await start(db, sync);
    try {
      await offlineSubscriber(port, 'sub', 'a/#', 1);
      const pub = await client(port, 'pub', true);
      pub.send(publishPacket('a/b', 'hello', 1, 10));
      const ack = await nextAck(pub, 4);
      assert.equal(ack.packetId, 10);
      // Read at the moment the PUBACK arrived, from a separate connection: the row is already durable.
      // One delivery: the message is carried with the delivery (in the turn's log row), no `messages` row.
      assert.deepEqual(counts(db), {
        sessions: 1,
        subscriptions: 1,
        messages: 0,
        deliveries: 1,
        retained: 0,
        incoming_qos2: 0,
      });
      pub.disconnect();
    } finally {
      await broker.stop();
    }
  });
}

test('a message queued for several sessions is stored once and collected when the last one acknowledges it', async () => {
  const db = join(tempDir(), 'p.db');
  const { broker, port } = await start(db);
  try {
    for (const id of ['s1', 's2', 's3']) await offlineSubscriber(port, id, 't', 1);
    const pub = await client(port, 'pub', true);
    pub.send(publishPacket('t', 'shared', 1, 1));
    await nextAck(pub, 4);
    assert.equal(counts(db).messages, 1);
    assert.equal(counts(db).deliveries, 3);
    for (const id of ['s1', 's2', 's3']) {
      const c = await client(port, id, false);
      const p = await c.nextOfType(3);
      c.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
      await c.collect(50);
      c.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(counts(db).deliveries, 0);
    assert.equal(counts(db).messages, 0);
  } finally {
    await broker.stop();
  }
});

test('[MQTT-4.4.0-1] outgoing QoS 2 in flight is resent after a restart with DUP and the same packet identifier, then PUBREL', async () => {
  const db = join(tempDir(), 'p.db');
  await outgoingQos2AcrossRestarts(
    () => start(db),
    () => assert.equal(counts(db).deliveries, 0),
  );
});

test('[MQTT-4.3.3-10] an incoming QoS 2 identifier survives a restart: the resent PUBLISH is not routed twice', async () => {
  const db = join(tempDir(), 'p.db');
  await incomingQos2AcrossRestart(
    () => start(db),
    () => assert.equal(counts(db).incoming_qos2, 1),
  );
});

test('subscriptions, their options and retained messages are restored; clean sessions and QoS 0 never touch the disk', async () => {
  const db = join(tempDir(), 'p.db');
  let run = await start(db);
  const clean = await client(run.port, 'clean', true);
  await subscribe(clean, 1, [['c/#', 1]]);
  const pub = await client(run.port, 'pub', true);
  pub.send(publishPacket('c/x', 'q0', 0));
  pub.send(publishPacket('c/x', 'q1', 1, 2));
  await nextAck(pub, 4);
  assert.deepEqual(counts(db), {
    sessions: 0,
    subscriptions: 0,
    messages: 0,
    deliveries: 0,
    retained: 0,
    incoming_qos2: 0,
  });
  pub.send(publishPacket('r/1', 'kept', 1, 3, { retain: true }));
  await nextAck(pub, 4);
  await offlineSubscriber(run.port, 'keeper', 'k/+', 2);
  clean.disconnect();
  pub.disconnect();
  await run.broker.stop();

  run = await start(db);
  try {
    assert.equal(run.broker.retained.get('r/1')?.payload.toString(), 'kept');
    const entry = run.broker.sessions.get('keeper')?.subscriptions.find((s) => s.filter === 'k/+');
    assert.equal(entry?.qos, 2);
    assert.equal(run.broker.sessions.has('clean'), false);
    const p2 = await client(run.port, 'p2', true);
    p2.send(publishPacket('k/1', 'after-restart', 2, 9));
    await nextAck(p2, 5);
    const k = await client(run.port, 'keeper', false);
    const got = await k.nextOfType(3);
    assert.equal(got.payload.toString(), 'after-restart');
    k.disconnect();
    p2.disconnect();
  } finally {
    await run.broker.stop();
  }
});
