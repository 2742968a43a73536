// Differential: the MQTT 5 features of a delivery hold with publisher and subscriber on different nodes of a
// 3-node cluster, as on one broker — overlapping subscriptions merged, subscription identifiers, No Local, the
// PUBLISH properties (user properties in their order), topic aliases, message expiry counting down
// (see across-nodes-harness.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../helpers/net.js';
import { deliveries, skip, useDifferential } from './across-nodes-harness.js';

const diff = useDifferential();

test('overlapping subscriptions of one client on another node: one copy at the highest QoS with every identifier [MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-5]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 5 });
    await t.subscribe('sub', [[t.topic('ov/+/x'), { qos: 0 }]], { subscriptionIdentifiers: [7] });
    await t.subscribe('sub', [[t.topic('ov/#'), { qos: 2 }]], { subscriptionIdentifiers: [300] });
    await t.subscribe('sub', [[t.topic('ov/a/x'), { qos: 1 }]]);
    await t.connect('old', 2, { version: 4 });
    await t.subscribe('old', [
      [t.topic('ov/+/x'), { qos: 0 }],
      [t.topic('ov/#'), { qos: 1 }],
    ]);
    await t.connect('pub', 0, { version: 5 });
    await t.publish('pub', t.topic('ov/a/x'), 'three filters', { qos: 2 });
    await t.publish('pub', t.topic('ov/b/x'), 'two filters', { qos: 1 });
    await t.publish('pub', t.topic('ov/b'), 'one filter', { qos: 0 });
    await t.expect('sub', 3);
    await t.expect('old', 3);
  });
  const sub = deliveries(single, 'sub');
  assert.equal(sub.length, 3, 'one copy per message');
  assert.match(sub[0]!, /^PUBLISH q2 .*subscriptionIdentifiers=\[(7,300|300,7)\]/);
  assert.match(sub[1]!, /^PUBLISH q1 .*subscriptionIdentifiers=\[(7,300|300,7)\]/);
  assert.match(sub[2]!, /^PUBLISH q0 .*subscriptionIdentifiers=\[300\]/);
  assert.deepEqual(
    deliveries(single, 'old').map((l) => l.split(' ')[1]),
    ['q1', 'q1', 'q0'],
  );
});

test('No Local holds across nodes: the publisher connected elsewhere still gets its own messages, not on its own connection [MQTT-3.8.3-3]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    // The same client id cannot be on two nodes at once: No Local is about the publishing connection.
    await t.connect('self', 0, { version: 5 });
    await t.subscribe('self', [
      [t.topic('nl/a'), { qos: 1, noLocal: true }],
      [t.topic('nl/b'), { qos: 1 }],
    ]);
    await t.connect('other', 1, { version: 5 });
    await t.subscribe('other', [[t.topic('nl/+'), { qos: 1, noLocal: true }]]);
    await t.publish('self', t.topic('nl/a'), 'from self to a', { qos: 1 });
    await t.publish('self', t.topic('nl/b'), 'from self to b', { qos: 1 });
    await t.publish('other', t.topic('nl/a'), 'from other to a', { qos: 1 });
    await t.expect('other', 2);
    await t.expect('self', 2);
  });
  assert.deepEqual(
    deliveries(single, 'self').map((l) => l.split('"')[1]),
    ['from self to b', 'from other to a'],
  );
  assert.deepEqual(
    deliveries(single, 'other').map((l) => l.split('"')[1]),
    ['from self to a', 'from self to b'],
  );
});

test('PUBLISH properties cross nodes unchanged: user properties in order, content type, response topic, correlation data, payload format [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-4]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 2, { version: 5 });
    await t.subscribe('sub', [[t.topic('props/#'), { qos: 1 }]]);
    await t.connect('old', 1, { version: 4 });
    await t.subscribe('old', [[t.topic('props/#'), { qos: 1 }]]);
    await t.connect('pub', 0, { version: 5 });
    await t.publish('pub', t.topic('props/all'), '{"x":1}', {
      qos: 1,
      properties: {
        userProperties: [
          ['z', 'first'],
          ['a', 'second'],
          ['z', 'third'],
          ['', ''],
        ],
        payloadFormatIndicator: 1,
        contentType: 'application/json',
        responseTopic: t.topic('reply/here'),
        correlationData: Buffer.from([0, 1, 2, 0xff]),
      },
    });
    // User properties between the others, in the publisher's wire order (what the codec keeps).
    t.send('pub', {
      type: 3,
      topic: t.topic('props/interleaved'),
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      packetId: 0,
      properties: { contentType: 'c', userProperties: [['k', 'v']], responseTopic: 'r' },
    });
    await t.publish('pub', t.topic('props/none'), 'bare', { qos: 0 });
    await t.expect('sub', 3);
    await t.expect('old', 3);
  });
  const got = deliveries(single, 'sub');
  assert.match(got[0]!, /userProperties=\[\["z","first"\],\["a","second"\],\["z","third"\],\["",""\]\]/);
  assert.match(got[0]!, /correlationData=0x000102ff/);
  assert.match(got[0]!, /payloadFormatIndicator=1/);
  // 3.1.1 has no properties: the same messages arrive without them.
  for (const line of deliveries(single, 'old')) assert.doesNotMatch(line, /" \{/);
});

test('message expiry across nodes: the interval is forwarded, counted down while queued, expired ones are dropped; also for a session resumed on another node [MQTT-3.3.2-5] [MQTT-3.3.2-6]', {
  skip,
}, async () => {
  const { single, cluster } = await diff.compare(
    async (t) => {
      const session = { version: 5 as const, clean: false, properties: { sessionExpiryInterval: 60 } };
      // `same` comes back to node 1, `moved` from node 1 to node 2.
      for (const name of ['same', 'moved']) {
        await t.connect(name, 1, session);
        await t.subscribe(name, [[t.topic('exp/#'), { qos: 1 }]]);
      }
      await t.connect('pub', 0, { version: 5 });
      await t.publish('pub', t.topic('exp/live'), 'live', {
        qos: 1,
        properties: { messageExpiryInterval: 30 },
      });
      await t.expect('same', 1);
      await t.expect('moved', 1);
      await t.disconnect('same');
      await t.disconnect('moved');
      await t.settle();
      await t.publish('pub', t.topic('exp/queued'), 'queued', {
        qos: 1,
        properties: { messageExpiryInterval: 30 },
      });
      await t.publish('pub', t.topic('exp/short'), 'expires', {
        qos: 1,
        properties: { messageExpiryInterval: 1 },
      });
      await t.publish('pub', t.topic('exp/forever'), 'no expiry', { qos: 1 });
      await sleep(1300);
      for (const [name, node] of [
        ['same', 1],
        ['moved', 2],
      ] as const) {
        const back = `${name}-back`;
        await t.connect(back, node, { ...session, clientId: `${t.prefix}-${name}` });
        await t.expect(back, 2);
        // The session ends with the test.
        await t.disconnect(back);
        await t.connect(`${name}-end`, node, { version: 5, clientId: `${t.prefix}-${name}` });
      }
      // Identifiers of the queued messages: the node that resumes a session from Redis numbers them afresh.
    },
    { renumberQueued: true },
  );
  for (const r of [single, cluster])
    for (const name of ['same', 'moved']) {
      const what = `${name} (${r === single ? 'single' : 'cluster'})`;
      const [live] = r.expiries[name]!;
      const [queued] = r.expiries[`${name}-back`]!;
      assert.ok(live! >= 29 && live! <= 30, `live: ${live} ${what}`);
      assert.ok(queued! >= 27 && queued! <= 29, `queued 1.3 s: ${queued} ${what}`);
    }
  assert.deepEqual(
    deliveries(single, 'moved-back').map((l) => l.split('"')[1]),
    ['queued', 'no expiry'],
  );
});

test('topic aliases are per connection: a publisher’s alias on one node is resolved there, the subscriber’s node sets its own [MQTT-3.3.2-10] [MQTT-3.3.2-12]', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 5, properties: { topicAliasMaximum: 5 } });
    await t.subscribe('sub', [[t.topic('alias/#'), { qos: 1 }]]);
    await t.connect('pub', 0, { version: 5 });
    await t.publish('pub', t.topic('alias/t'), 'sets alias 1', { qos: 1, properties: { topicAlias: 1 } });
    t.send('pub', {
      type: 3,
      topic: '',
      payload: Buffer.from('uses alias 1'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 100,
      properties: { topicAlias: 1 },
    });
    await t.expect('sub', 2);
    // On a cluster the subscriber's node can deliver before the publisher's node has Redis's reply for the commit
    // that releases PUBACK 100, and a PINGREQ is answered at once: nothing orders PINGRESP after that PUBACK.
    await t.expectControl('pub', 'PUBACK 100 ');
    await t.ping('pub');
  });
  const got = deliveries(single, 'sub');
  assert.equal(got.length, 2);
  // The subscriber's node picks its own alias for the topic (its Topic Alias Maximum), whatever the publisher's.
  assert.match(got[0]!, /alias\/t "sets alias 1" \{topicAlias=1\}/);
  assert.match(got[1]!, /#2 {2}"uses alias 1" \{topicAlias=1\}/);
});
