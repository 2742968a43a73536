// Differential: shared subscriptions and wills with the clients on different nodes of a 3-node cluster behave
// as on one broker — each message once per group cluster-wide, wills (immediate, retained, delayed, cancelled
// by a reconnection on another node) delivered to subscribers elsewhere (see across-nodes-harness.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../helpers/net.js';
import { deliveries, type RunResult, skip, useDifferential } from './across-nodes-harness.js';

const diff = useDifferential();

const payloadOf = (line: string) => line.split('"')[1]!;

/** What a group's members received together, sorted (which member gets which message is the broker's choice). */
function group(r: RunResult, members: readonly string[]): string[] {
  return members.flatMap((m) => deliveries(r, m).map(payloadOf)).sort();
}

test('a shared subscription with members on two nodes gets each message once, an ordinary one every message [MQTT-4.8.2-3] 5.0', {
  skip,
}, async () => {
  const N = 20;
  const members = ['m1', 'm2', 'm3'];
  const runs = await diff.both(async (t) => {
    await t.connect('m1', 1, { version: 5 });
    await t.connect('m2', 2, { version: 5 });
    await t.connect('m3', 2, { version: 4 });
    for (const m of members) await t.subscribe(m, [[`$share/g/${t.topic('sh/#')}`, { qos: 1 }]]);
    // A second group on one node only, and an ordinary subscriber.
    await t.connect('solo', 1, { version: 5 });
    await t.subscribe('solo', [[`$share/other/${t.topic('sh/+')}`, { qos: 1 }]]);
    await t.connect('all', 0, { version: 4 });
    await t.subscribe('all', [[t.topic('sh/#'), { qos: 1 }]]);
    await t.connect('pub', 0, { version: 5 });
    for (let i = 0; i < N; i++) await t.publish('pub', t.topic(`sh/${i % 2}`), `m${i}`, { qos: 1 });
    await t.expect('all', N);
    await t.expect('solo', N);
    for (let i = 0; i < 100; i++) {
      if (members.reduce((n, m) => n + t.peer(m).record.publishes.length, 0) >= N) break;
      await sleep(20);
    }
  });
  const want = Array.from({ length: N }, (_, i) => `m${i}`).sort();
  for (const r of [runs.single, runs.cluster]) {
    assert.deepEqual(group(r, members), want, `${r === runs.single ? 'single' : 'cluster'}: once per group`);
    assert.deepEqual(group(r, ['solo']), want);
    assert.deepEqual(
      deliveries(r, 'all').map(payloadOf),
      want.slice().sort((a, b) => +a.slice(1) - +b.slice(1)),
    );
    for (const m of members) assert.ok(deliveries(r, m).length > 0, `${m} got some`);
  }
  // The PUBACKs and SUBACKs are the same; only the choice of member may differ.
  assert.deepEqual(runs.cluster.recording.pub, runs.single.recording.pub);
});

test('the will of a client on one node reaches subscribers on the others: QoS, retain, properties [MQTT-3.1.2-8] [MQTT-3.1.2-10]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 5 });
    await t.subscribe('sub', [[t.topic('will/#'), { qos: 2, retainAsPublished: true }]]);
    await t.connect('old', 2, { version: 4 });
    await t.subscribe('old', [[t.topic('will/#'), { qos: 1 }]]);
    await t.connect('dies', 0, {
      version: 5,
      will: {
        topic: t.topic('will/dies'),
        payload: 'gone',
        qos: 2,
        retain: true,
        properties: { contentType: 'text/plain', userProperties: [['why', 'crash']] },
      },
    });
    await t.connect('polite', 0, { version: 4, will: { topic: t.topic('will/polite'), payload: 'never' } });
    await t.connect('asks', 2, {
      version: 5,
      will: { topic: t.topic('will/asks'), payload: 'on request', qos: 1 },
    });
    await t.drop('dies');
    // One will at a time: wills of clients on different nodes race each other (as two publishers do).
    await t.expect('sub', 1);
    await t.expect('old', 1);
    await t.disconnect('polite');
    // Disconnect with Will Message (0x04).
    await t.disconnect('asks', 0x04);
    await t.expect('sub', 2);
    await t.expect('old', 2);
    await t.settle();
    // The retained will is there for a new subscriber on a third node.
    await t.connect('late', 2, { version: 4 });
    await t.subscribe('late', [[t.topic('will/#'), { qos: 1 }]]);
    await t.expect('late', 1);
    await t.connect('clear', 0, { version: 4 });
    await t.publish('clear', t.topic('will/dies'), '', { qos: 1, retain: true });
  });
  const got = deliveries(single, 'sub').map(payloadOf).sort();
  assert.deepEqual(got, ['', 'gone', 'on request']);
  assert.match(deliveries(single, 'late')[0]!, /q1 retain #1 \S+will\/dies "gone"/);
});

test('a delayed will is published after its delay by the node that held the connection, and cancelled by a reconnection on another node [MQTT-3.1.3-9] 5.0', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 5 });
    await t.subscribe('sub', [[t.topic('dw/#'), { qos: 1 }]]);
    const delayed = (name: string) => ({
      version: 5 as const,
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: {
        topic: t.topic(`dw/${name}`),
        payload: `will of ${name}`,
        qos: 1 as const,
        properties: { willDelayInterval: 1 },
      },
    });
    await t.connect('late', 0, delayed('late'));
    await t.connect('back', 0, delayed('back'));
    await t.drop('late');
    await t.drop('back');
    await sleep(300);
    t.note(`after 0.3 s: ${t.peer('sub').record.publishes.length}`);
    // Reconnects on another node before the delay ends: its will is not sent.
    await t.connect('back-again', 2, { version: 5, clean: false, clientId: `${t.prefix}-back` });
    await t.expect('sub', 1, 3000);
    await sleep(1000);
    await t.disconnect('back-again');
    // Sessions end with the test.
    await t.connect('end-late', 1, { version: 5, clientId: `${t.prefix}-late` });
    await t.connect('end-back', 1, { version: 5, clientId: `${t.prefix}-back` });
  });
  assert.deepEqual(single.notes, ['after 0.3 s: 0']);
  assert.deepEqual(deliveries(single, 'sub').map(payloadOf), ['will of late']);
});

// On one broker a member that loses its connection hands its unacknowledged QoS 1 messages to another
// connected member [MQTT-4.8.2] 5.0 (shared-redelivery.ts); in the cluster the only other member is on another
// node, so they are forwarded there (ClusterPublishPipeline.deliverShared, Forwarder.handOn).
test('a share group member that leaves with unacknowledged messages: the group’s other members get them as on one broker', {
  skip,
}, async () => {
  const N = 6;
  const runs = await diff.both(async (t) => {
    await t.connect('m1', 1, { version: 5 });
    await t.subscribe('m1', [[`$share/g/${t.topic('leave')}`, { qos: 1 }]]);
    t.manualAcks('m1');
    await t.connect('m2', 2, { version: 5 });
    await t.subscribe('m2', [[`$share/g/${t.topic('leave')}`, { qos: 1 }]]);
    await t.connect('pub', 0, { version: 4 });
    for (let i = 0; i < N; i++) await t.publish('pub', t.topic('leave'), `m${i}`, { qos: 1 });
    for (let i = 0; i < 100; i++) {
      if (t.peer('m1').record.publishes.length + t.peer('m2').record.publishes.length >= N) break;
      await sleep(20);
    }
    t.note(`m1 held ${t.peer('m1').record.publishes.length} unacknowledged`);
    await t.drop('m1');
    await t.expect('m2', N, 2000);
  });
  for (const r of [runs.single, runs.cluster]) {
    const what = r === runs.single ? 'single' : 'cluster';
    assert.match(r.notes[0]!, /m1 held [1-9]/, what);
    // Every message reaches the member that stayed: first its own share, then what m1 left unacknowledged.
    assert.deepEqual(group(r, ['m2']), Array.from({ length: N }, (_, i) => `m${i}`).sort(), what);
  }
});
