// Differential: retained messages across the nodes of a 3-node cluster behave as on one broker — retained on
// subscribe, RETAIN cleared on forwarding, Retain As Published, Retain Handling, deletion by an empty payload,
// replacement from another node; and `$` topics are not matched by wildcards (see across-nodes-harness.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../helpers/net.js';
import { deliveries, skip, useDifferential } from './across-nodes-harness.js';

const diff = useDifferential();

const flags = (line: string) => line.split(' ').slice(1, 3).join(' ');

test('a new subscription on another node gets the retained messages with RETAIN 1, at min QoS [MQTT-3.3.1-9] [MQTT-3.3.1-5]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('pub', 0, { version: 5 });
    await t.publish('pub', t.topic('r/a'), 'kept at 1', { qos: 1, retain: true });
    await t.publish('pub', t.topic('r/b'), 'kept at 2', { qos: 2, retain: true });
    await t.connect('pub2', 2, { version: 4 });
    // Replaced from another node.
    await t.publish('pub2', t.topic('r/a'), 'replaced at 0', { qos: 0, retain: true });
    await t.settle();
    await t.connect('s4', 1, { version: 4 });
    await t.subscribe('s4', [[t.topic('r/#'), { qos: 1 }]]);
    await t.connect('s5', 2, { version: 5 });
    await t.subscribe('s5', [[t.topic('r/+'), { qos: 2 }]]);
    await t.expect('s4', 2);
    await t.expect('s5', 2);
  });
  assert.deepEqual(deliveries(single, 's4').map(flags).sort(), ['q0 retain', 'q1 retain']);
  assert.deepEqual(deliveries(single, 's5').map(flags).sort(), ['q0 retain', 'q2 retain']);
  assert.ok(deliveries(single, 's4').some((l) => l.includes('"replaced at 0"')));
});

test('RETAIN is 0 when forwarded to an existing subscription on another node, 1 with Retain As Published [MQTT-3.3.1-12] [MQTT-3.3.1-13]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('plain', 1, { version: 5 });
    await t.subscribe('plain', [[t.topic('f'), { qos: 1 }]]);
    await t.connect('rap', 2, { version: 5 });
    await t.subscribe('rap', [[t.topic('f'), { qos: 1, retainAsPublished: true }]]);
    await t.connect('old', 1, { version: 4 });
    await t.subscribe('old', [[t.topic('f'), { qos: 1 }]]);
    await t.connect('pub', 0, { version: 4 });
    await t.publish('pub', t.topic('f'), 'retained live', { qos: 1, retain: true });
    await t.publish('pub', t.topic('f'), 'not retained', { qos: 1 });
    for (const s of ['plain', 'rap', 'old']) await t.expect(s, 2);
    // Cleared again, so that later runs of the file start without it.
    await t.publish('pub', t.topic('f'), '', { qos: 1, retain: true });
    for (const s of ['plain', 'rap', 'old']) await t.expect(s, 3);
  });
  assert.deepEqual(deliveries(single, 'plain').map(flags), ['q1 #1', 'q1 #2', 'q1 #3']);
  assert.deepEqual(deliveries(single, 'rap').map(flags), ['q1 retain', 'q1 #2', 'q1 retain']);
});

test('Retain Handling 0, 1 and 2 across nodes [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('pub', 0, { version: 5 });
    await t.publish('pub', t.topic('rh'), 'retained', { qos: 1, retain: true });
    await t.settle();
    await t.connect('sub', 1, { version: 5 });
    for (const rh of [0, 0, 1, 1, 2] as const) {
      const before = t.peer('sub').record.publishes.length;
      await t.subscribe('sub', [[t.topic('rh'), { qos: 1, retainHandling: rh }]]);
      await t.expect('sub', before + 1, rh === 0 ? 2000 : 200);
      t.note(`rh ${rh}: ${t.peer('sub').record.publishes.length - before}`);
    }
    await t.unsubscribe('sub', [t.topic('rh')]);
    await t.subscribe('sub', [[t.topic('rh'), { qos: 1, retainHandling: 1 }]]);
    await t.expect('sub', 3);
  });
  // RH 0: every SUBSCRIBE; RH 1: only when the subscription is new (after the UNSUBSCRIBE); RH 2: never.
  assert.equal(deliveries(single, 'sub').length, 3);
  assert.deepEqual(single.notes, ['rh 0: 1', 'rh 0: 1', 'rh 1: 0', 'rh 1: 0', 'rh 2: 0']);
});

test('an empty retained payload published on one node deletes the retained message on every node [MQTT-3.3.1-6] [MQTT-3.3.1-7]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('setter', 0, { version: 4 });
    await t.publish('setter', t.topic('del/x'), 'to be deleted', { qos: 1, retain: true });
    await t.publish('setter', t.topic('del/y'), 'stays', { qos: 1, retain: true });
    await t.connect('live', 2, { version: 5 });
    await t.subscribe('live', [[t.topic('del/#'), { qos: 1, retainHandling: 2 }]]);
    await t.connect('deleter', 1, { version: 5 });
    await t.publish('deleter', t.topic('del/x'), '', { qos: 1, retain: true });
    // Forwarded to the existing subscriber as an ordinary empty message.
    await t.expect('live', 1);
    await t.settle();
    for (const node of [0, 1, 2]) {
      const name = `late${node}`;
      await t.connect(name, node, { version: 4 });
      await t.subscribe(name, [[t.topic('del/#'), { qos: 1 }]]);
      await t.expect(name, 1);
    }
    await t.publish('setter', t.topic('del/y'), '', { qos: 1, retain: true });
    for (const node of [0, 1, 2]) await t.expect(`late${node}`, 2);
  });
  for (const node of [0, 1, 2]) {
    const got = deliveries(single, `late${node}`);
    // The retained one that stays, then the deletion of it forwarded as an ordinary message.
    assert.equal(got.length, 2);
    assert.match(got[0]!, /retain #1 s\d+\/del\/y "stays"/);
    assert.match(got[1]!, /q1 #2 s\d+\/del\/y ""/);
  }
  assert.match(deliveries(single, 'live')[0]!, /del\/x ""/);
});

test('`$` topics are not matched by filters starting with a wildcard, on any node [MQTT-4.7.2-1]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    const dollar = `$${t.prefix}`;
    await t.connect('wild', 1, { version: 5 });
    await t.subscribe('wild', [
      ['#', { qos: 1, retainHandling: 2 }],
      [`+/${t.prefix}/#`, { qos: 1, retainHandling: 2 }],
    ]);
    await t.connect('exact', 2, { version: 4 });
    await t.subscribe('exact', [[`${dollar}/#`, { qos: 1 }]]);
    await t.connect('pub', 0, { version: 4 });
    await t.publish('pub', `${dollar}/x`, 'dollar', { qos: 1 });
    await t.publish('pub', `${dollar}/${t.prefix}/x`, 'dollar again', { qos: 1 });
    await t.publish('pub', t.topic('plain'), 'plain', { qos: 1 });
    await t.expect('exact', 2);
    await t.expect('wild', 1);
    await t.ping('wild');
  });
  assert.deepEqual(
    deliveries(single, 'wild').map((l) => l.split('"')[1]),
    ['plain'],
  );
  assert.equal(deliveries(single, 'exact').length, 2);
});

test('retained messages set on one topic from two nodes at once end the same on every node (as in Redis)', {
  skip,
}, async () => {
  // Not differential: which of two concurrent publishers wins is timing, on one broker as on the cluster.
  const { recording } = await diff.clusterOnly(async (t) => {
    await t.connect('a', 0, { version: 4 });
    await t.connect('b', 2, { version: 4 });
    for (let i = 0; i < 30; i++) {
      // Both in flight together: each node hears of the other's change through Redis while making its own.
      const one = t.publish('a', t.topic('race'), `from a ${i}`, { qos: 1, retain: true });
      const two = t.publish('b', t.topic('race'), `from b ${i}`, { qos: 1, retain: true });
      await Promise.all([one, two]);
    }
    // Throws when the nodes' copies disagree (the test then fails).
    await t.settle();
    for (const node of [0, 1, 2]) {
      await t.connect(`r${node}`, node, { version: 4 });
      await t.subscribe(`r${node}`, [t.topic('race')]);
      await t.expect(`r${node}`, 1);
    }
  });
  const got = [0, 1, 2].map((n) => recording[`r${n}`]!.publishes.join());
  assert.match(got[0]!, /"from [ab] 29"/);
  assert.deepEqual(got, [got[0], got[0], got[0]]);
});

test('a retained message’s expiry holds on every node: counted down when sent to a new subscription, gone once expired [MQTT-3.3.2-5] [MQTT-3.3.2-6]', {
  skip,
}, async () => {
  const { single, cluster } = await diff.compare(async (t) => {
    await t.connect('pub', 0, { version: 5 });
    await t.publish('pub', t.topic('rx/short'), 'expires', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await t.publish('pub', t.topic('rx/long'), 'stays', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 30 },
    });
    await t.settle();
    await sleep(1300);
    await t.connect('sub', 2, { version: 5 });
    await t.subscribe('sub', [[t.topic('rx/#'), { qos: 1 }]]);
    await t.expect('sub', 1);
    await t.publish('pub', t.topic('rx/long'), '', { qos: 1, retain: true });
    await t.expect('sub', 2);
  });
  assert.deepEqual(
    deliveries(single, 'sub').map((l) => l.split('"')[1]),
    // Then the deletion, forwarded live.
    ['stays', ''],
  );
  for (const r of [single, cluster]) {
    const [left] = r.expiries.sub!;
    assert.ok(left! >= 27 && left! <= 29, `remaining ${left}`);
  }
});
