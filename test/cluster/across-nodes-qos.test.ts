// Differential: publishers and subscribers on different nodes of a 3-node cluster receive exactly what they
// receive on one broker — the QoS matrix (MQTT 3.1.1 and 5 mixed), per-publisher order, large payloads and
// unsubscribing (see across-nodes-harness.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QoS } from '../../src/protocol/packets.js';
import { deliveries, skip, useDifferential } from './across-nodes-harness.js';

const diff = useDifferential();

test('QoS matrix across nodes: delivered at min(publish QoS, granted QoS), 3.1.1 and 5 mixed [MQTT-3.8.4-6] [MQTT-3.3.5-1]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    const subs: string[] = [];
    for (const version of [4, 5] as const)
      for (const qos of [0, 1, 2] as const) {
        const name = `s${version}q${qos}`;
        subs.push(name);
        // Subscribers on nodes 1 and 2, publishers on nodes 0 and 2.
        await t.connect(name, 1 + (qos % 2), { version });
        await t.subscribe(name, [[t.topic('m/#'), { qos }]]);
      }
    await t.connect('p4', 0, { version: 4 });
    await t.connect('p5', 2, { version: 5 });
    let sent = 0;
    for (const pub of ['p4', 'p5'])
      for (const qos of [0, 1, 2] as const) {
        await t.publish(pub, t.topic(`m/${pub}/${qos}`), `${pub} at ${qos}`, { qos });
        sent++;
        for (const s of subs) await t.expect(s, sent);
      }
  });
  const qosOf = (line: string) => line.split(' ')[1];
  for (const version of [4, 5])
    for (const granted of [0, 1, 2]) {
      const got = deliveries(single, `s${version}q${granted}`).map(qosOf);
      const want = [0, 1, 2, 0, 1, 2].map((q) => `q${Math.min(q, granted)}`);
      assert.deepEqual(got, want, `subscriber ${version} at QoS ${granted}`);
    }
});

test('QoS 1 messages of one publisher arrive in order on another node [MQTT-4.6.0-6]', { skip }, async () => {
  const N = 200;
  const { single } = await diff.compare(async (t) => {
    await t.connect('s1', 1, { version: 5 });
    await t.subscribe('s1', [[t.topic('order'), { qos: 1 }]]);
    await t.connect('s0', 2, { version: 4 });
    await t.subscribe('s0', [[t.topic('order'), { qos: 0 }]]);
    await t.connect('pub', 0, { version: 4 });
    // Without waiting for each PUBACK: many in flight at once, across several turns and inbox entries.
    for (let i = 0; i < N; i++) await t.publish('pub', t.topic('order'), `m${i}`, { qos: 1, wait: false });
    await t.expect('s1', N, 8000);
    await t.expect('s0', N, 8000);
    await t.ping('pub');
  });
  const payloads = deliveries(single, 's1').map((l) => l.split(' ')[4]);
  assert.deepEqual(
    payloads,
    Array.from({ length: N }, (_, i) => JSON.stringify(`m${i}`)),
  );
  assert.equal(single.recording.pub!.control.filter((l) => l.startsWith('PUBACK')).length, N);
});

test('a 256 KiB payload crosses nodes intact at QoS 0, 1 and 2', { skip }, async () => {
  const big = Buffer.alloc(256 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 2, { version: 5 });
    await t.subscribe('sub', [[t.topic('big/#'), { qos: 2 }]]);
    await t.connect('pub', 0, { version: 5 });
    for (const qos of [0, 1, 2] as QoS[]) {
      await t.publish('pub', t.topic(`big/${qos}`), big, { qos });
      await t.expect('sub', qos + 1);
    }
  });
  const got = deliveries(single, 'sub');
  assert.equal(got.length, 3);
  for (const line of got) assert.match(line, /<262144 bytes sha1 /);
});

test('unsubscribing on one node stops delivery from the others; the remaining filter still delivers [MQTT-3.10.4-6]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 5 });
    await t.subscribe('sub', [
      [t.topic('u/a'), { qos: 1 }],
      [t.topic('u/+'), { qos: 0 }],
    ]);
    await t.connect('only', 2, { version: 4 });
    await t.subscribe('only', [[t.topic('u/a'), { qos: 1 }]]);
    await t.connect('pub', 0, { version: 4 });
    await t.publish('pub', t.topic('u/a'), 'both filters', { qos: 1 });
    await t.expect('sub', 1);
    await t.expect('only', 1);
    await t.unsubscribe('sub', [t.topic('u/a')]);
    await t.unsubscribe('only', [t.topic('u/a')]);
    await t.publish('pub', t.topic('u/a'), 'one filter left', { qos: 1 });
    await t.expect('sub', 2);
    await t.unsubscribe('sub', [t.topic('u/+')]);
    await t.publish('pub', t.topic('u/a'), 'none left', { qos: 1 });
    await t.ping('sub');
  });
  assert.deepEqual(
    deliveries(single, 'sub').map((l) => l.split(' ').slice(1, 2).concat(l.split('"')[1]!)),
    [
      ['q1', 'both filters'],
      ['q0', 'one filter left'],
    ],
  );
  assert.equal(deliveries(single, 'only').length, 1);
});

test('a v5 PUBACK says No matching subscribers (0x10) only when no node has a match (5.0 §3.4.2.1)', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 4 });
    await t.subscribe('sub', [[t.topic('nm/+'), { qos: 1 }]]);
    await t.connect('pub', 0, { version: 5 });
    await t.publish('pub', t.topic('nm/x'), 'wanted on node 1', { qos: 1 });
    await t.publish('pub', t.topic('nobody'), 'wanted nowhere', { qos: 1 });
    await t.expect('sub', 1);
  });
  assert.deepEqual(
    single.recording.pub!.control.filter((l) => l.startsWith('PUBACK')),
    ['PUBACK 1 0', 'PUBACK 2 16'],
  );
});
