// Shared subscriptions across a restart: messages queued for one member keep the link to their share group, so
// that when that member goes away they still move to another member (MQTT 5 section 4.8.2), as before the restart.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../../src/persistence/sqlite-store.js';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { Broker } from '../../src/server/broker.js';
import { tempDir } from '../helpers/processes.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

async function start(db: string): Promise<{ broker: Broker; port: number }> {
  const broker = new Broker({ options: { connectionMessages: false }, store: new SqliteStore(db) });
  const [l] = await broker.listen([{ port: 0, host: '127.0.0.1' }]);
  return { broker, port: l!.port };
}

async function member(port: number, clientId: string): Promise<RawClient> {
  const { client, connack } = await RawClient.connect(port, { clientId, clean: false });
  assert.equal(connack.reasonCode, 0);
  return client;
}

test('[MQTT-4.8.2-3] queued shared messages restored after a restart still move to another member of the group', async () => {
  const db = join(tempDir(), 'p.db');
  let run = await start(db);
  for (const id of ['a', 'b']) {
    const c = await member(run.port, id);
    await subscribe(c, 1, [['$share/g/jobs/+', 1]]);
    c.disconnect();
    await c.waitClosed();
  }
  const pub = await member(run.port, 'pub');
  for (let i = 0; i < 6; i++) pub.send(publishPacket('jobs/x', `job-${i}`, 1, i + 1));
  await pub.collect(100);
  pub.disconnect();
  // Both members offline: the round-robin queues three jobs for each.
  assert.equal(run.broker.sessions.get('a')?.queued, 3);
  await run.broker.stop();

  run = await start(db);
  try {
    const restored = run.broker.internals.sessions.get('a')!;
    const d = restored.peekQueued();
    assert.ok(d?.group !== undefined, 'the restored delivery lost its share group');
    assert.equal(d.group, run.broker.internals.tree.shareGroup('g', 'jobs/+'));

    // b comes online and takes its own three; a comes online, receives its three and drops without acknowledging.
    const b = await member(run.port, 'b');
    const first = (await b.collect(200)).filter((p): p is PublishPacket => p.type === 3);
    for (const p of first) b.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
    const a = await member(run.port, 'a');
    const toA = (await a.collect(200)).filter((p): p is PublishPacket => p.type === 3);
    assert.equal(toA.length, 3);
    a.destroy();
    // [MQTT-4.8.2-3] unacknowledged QoS 1 messages of a member that went away go to another member.
    const moved = (await b.collect(300)).filter((p): p is PublishPacket => p.type === 3);
    const payloads = [...first, ...moved].map((p) => p.payload.toString()).sort();
    assert.deepEqual(payloads, ['job-0', 'job-1', 'job-2', 'job-3', 'job-4', 'job-5']);
    b.disconnect();
  } finally {
    await run.broker.stop();
  }
});
