// Differential: publishers and subscribers on different nodes of a 3-node cluster receive exactly what they
// receive on one broker — the QoS matrix (MQTT 3.1.1 and 5 mixed), per-publisher order, large payloads and
// unsubscribing (see across-nodes-harness.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QoS } from '../../src/protocol/packets.js';
import { sleep } from '../helpers/net.js';
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

test('a QoS 2 PUBLISH sent again (DUP) before PUBREL reaches a subscriber on another node once; a QoS 1 one again [MQTT-4.3.3-2] [MQTT-4.3.2-2]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 4 });
    await t.subscribe('sub', [[t.topic('dup/#'), { qos: 2 }]]);
    await t.connect('pub', 0, { version: 4 });
    t.manualAcks('pub');
    const q2 = { topic: t.topic('dup/2'), payload: Buffer.from('exactly once'), retain: false } as const;
    t.send('pub', { type: 3, ...q2, qos: 2, dup: false, packetId: 7 });
    await t.expectControl('pub', 'PUBREC 7');
    t.send('pub', { type: 3, ...q2, qos: 2, dup: true, packetId: 7 });
    await t.ping('pub');
    t.send('pub', { type: 6, packetId: 7, reasonCode: 0 });
    await t.expectControl('pub', 'PUBCOMP 7');
    const q1 = { topic: t.topic('dup/1'), payload: Buffer.from('at least once'), retain: false } as const;
    t.send('pub', { type: 3, ...q1, qos: 1, dup: false, packetId: 8 });
    t.send('pub', { type: 3, ...q1, qos: 1, dup: true, packetId: 8 });
    await t.expect('sub', 3);
    await t.ping('pub');
  });
  assert.deepEqual(
    deliveries(single, 'sub').map((l) => l.split('"')[1]),
    ['exactly once', 'at least once', 'at least once'],
  );
});

test('SUBSCRIBE again to the same filter on another node replaces its QoS there [MQTT-3.8.4-3]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 2, { version: 5 });
    await t.connect('pub', 0, { version: 4 });
    for (const qos of [2, 0, 1] as const) {
      await t.subscribe('sub', [[t.topic('re'), { qos }]]);
      await t.publish('pub', t.topic('re'), `granted ${qos}`, { qos: 2 });
      await t.expect('sub', qos === 2 ? 1 : qos === 0 ? 2 : 3);
    }
  });
  assert.deepEqual(
    deliveries(single, 'sub').map((l) => l.split(' ')[1]),
    ['q2', 'q0', 'q1'],
  );
});

test('an offline persistent session on another node queues QoS 1 and 2 messages, not QoS 0 [MQTT-3.1.2-5] [MQTT-3.1.2-4]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 4, clean: false });
    await t.subscribe('sub', [[t.topic('off/#'), { qos: 2 }]]);
    await t.disconnect('sub');
    await t.settle();
    await t.connect('pub', 0, { version: 5 });
    for (const qos of [0, 1, 2] as const) await t.publish('pub', t.topic(`off/${qos}`), `at ${qos}`, { qos });
    await t.connect('back', 1, { version: 4, clean: false, clientId: `${t.prefix}-sub` });
    await t.expect('back', 2);
    await t.expectControl('back', 'PUBREL');
    await t.disconnect('back');
    await t.connect('end', 1, { version: 4, clean: true, clientId: `${t.prefix}-sub` });
  });
  assert.deepEqual(
    deliveries(single, 'back').map((l) => l.split('"')[1]),
    ['at 1', 'at 2'],
  );
  // Mosquitto answers a QoS 1 PUBLISH that only an offline session wants with Success, not 0x10.
  assert.ok(single.recording.pub!.control.includes('PUBACK 1 0'));
});

test('Receive Maximum and Maximum Packet Size of a subscriber on another node hold [MQTT-3.3.4-9] [MQTT-3.1.2-25]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, {
      version: 5,
      properties: { receiveMaximum: 2, maximumPacketSize: 200 },
    });
    await t.subscribe('sub', [[t.topic('flow/#'), { qos: 1 }]]);
    t.manualAcks('sub');
    await t.connect('pub', 0, { version: 5 });
    await t.publish('pub', t.topic('flow/big'), Buffer.alloc(300, 0x61), { qos: 1 });
    for (let i = 0; i < 5; i++) await t.publish('pub', t.topic('flow/x'), `m${i}`, { qos: 1 });
    await t.expect('sub', 2);
    await sleep(200);
    t.note(`in flight unacknowledged: ${t.peer('sub').record.publishes.length}`);
    for (let i = 0; i < 5; i++) {
      const line = t.peer('sub').record.publishes[i];
      const id = Number(/ #(\d+) /.exec(line ?? '')?.[1] ?? 0);
      t.send('sub', { type: 4, packetId: id, reasonCode: 0 });
      await t.expect('sub', Math.min(5, i + 3), 2000);
    }
  });
  assert.deepEqual(single.notes, ['in flight unacknowledged: 2']);
  assert.deepEqual(
    deliveries(single, 'sub').map((l) => l.split('"')[1]),
    ['m0', 'm1', 'm2', 'm3', 'm4'],
  );
});

test('a message published on another node right after the SUBACK reaches the new subscription', {
  skip,
}, async () => {
  const N = 20;
  const { single } = await diff.compare(async (t) => {
    await t.connect('pub', 0, { version: 4 });
    await t.connect('sub', 1, { version: 4 });
    for (let i = 0; i < N; i++) {
      // On one broker the subscription is in place once the SUBACK is sent; the publisher starts only then.
      await t.subscribe('sub', [[t.topic(`now/${i}`), { qos: 1 }]], undefined, false);
      await t.publish('pub', t.topic(`now/${i}`), `right after ${i}`, { qos: 1 });
    }
    await t.expect('sub', N, 1000);
  });
  assert.equal(deliveries(single, 'sub').length, N);
});
