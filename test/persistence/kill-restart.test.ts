// Crash test of persistence with real processes: publish QoS 1 / 2 (and retained) messages under load to an
// offline persistent session, SIGKILL the broker at random moments (more than 20 times), restart it, and check
// that every message the broker acknowledged (PUBACK / PUBREC seen by the publisher) is delivered afterwards:
// QoS 1 at least once, QoS 2 exactly once, and retained state no older than the last acknowledged one.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { connect, killHard, type Ledger, loadUntilClosed, startBroker } from '../helpers/kill-load.js';
import { freePort, sleep } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { seededRng } from '../helpers/seed.js';

/** When each kill lands; printed so that a failing order can be replayed. */
const rng = seededRng('kill-restart kill timing');

const KILLS = 22;

test('acknowledged QoS 1/2 messages and retained messages survive repeated SIGKILL under load', {
  timeout: 90_000,
}, async () => {
  const dir = tempDir('culex-persist-');
  const port = await freePort();
  const conf = join(dir, 'culex.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}`,
      'user root',
      'max_queued_messages 0',
      'connection_messages false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };

  // The persistent subscriber registers, then goes away; everything is queued for it.
  let broker = await startBroker(conf, port);
  const first = await connect(port, { clientId: 'durable', clean: false });
  await first.subscribeAsync('load/#', { qos: 2 });
  await first.endAsync();

  let kills = 0;
  for (let iter = 1; iter <= KILLS; iter++) {
    if (iter > 1) broker = await startBroker(conf, port);
    const publisher = await connect(port, { clientId: `pub-${iter}`, clean: true });
    const loading = loadUntilClosed(publisher, iter, ledger);
    await sleep(80 + rng.int(300));
    await killHard(broker);
    kills++;
    publisher.end(true);
    await loading;
  }
  assert.ok(kills >= 20);
  assert.ok(ledger.acked.size > 500, `only ${ledger.acked.size} messages acknowledged`);

  broker = await startBroker(conf, port);
  try {
    const counts = new Map<string, number>();
    const sub = mqtt.connect({
      host: '127.0.0.1',
      port,
      clientId: 'durable',
      clean: false,
      reconnectPeriod: 0,
    });
    sub.on('message', (_topic, payload) => {
      const p = payload.toString();
      counts.set(p, (counts.get(p) ?? 0) + 1);
    });
    let last = Date.now();
    let seen = 0;
    sub.on('message', () => {
      seen++;
      last = Date.now();
    });
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      await sleep(100);
      let missing = 0;
      for (const p of ledger.acked) if (!counts.has(p)) missing++;
      if (missing === 0 && Date.now() - last > 500) break;
      if (seen > 0 && Date.now() - last > 3000) break;
    }
    await sub.endAsync();

    const lost = [...ledger.acked].filter((p) => !counts.has(p));
    assert.deepEqual(
      lost.slice(0, 10),
      [],
      `${lost.length} of ${ledger.acked.size} acknowledged messages lost`,
    );
    const duplicatedQos2 = [...counts].filter(([p, n]) => p.startsWith('2:') && n > 1);
    assert.deepEqual(duplicatedQos2.slice(0, 10), [], 'QoS 2 messages delivered more than once');
    const unknown = [...counts.keys()].filter((p) => !ledger.sent.has(p));
    assert.deepEqual(unknown, [], 'messages nobody sent');

    // Retained: each topic holds the last acknowledged value or a later one that was in flight at a kill.
    const reader = await connect(port, { clientId: 'reader', clean: true });
    const retained = new Map<string, number>();
    reader.on('message', (topic, payload, packet) => {
      if (packet.retain) retained.set(topic, Number(payload.toString().split(':')[1]));
    });
    await reader.subscribeAsync('ret/#', { qos: 1 });
    await sleep(300);
    await reader.endAsync();
    for (const [topic, n] of ledger.retainedAcked) {
      const got = retained.get(topic);
      assert.ok(got !== undefined && got >= n, `retained ${topic}: have ${got}, acknowledged ${n}`);
    }
  } finally {
    await killHard(broker);
  }
});
