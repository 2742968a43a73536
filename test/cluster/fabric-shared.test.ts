// Shared subscriptions across nodes: each message goes to ONE member of the group cluster-wide (the publishing
// node chooses, weighted by the members per node), whatever node the publisher and the members are on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../helpers/net.js';
import {
  type Client,
  client,
  closeAll,
  type Node,
  routesKnown,
  skipWithoutRedis,
  until,
  useCluster,
} from './fabric-helpers.js';

const skip = skipWithoutRedis;
const cluster = useCluster(3);

const N = 20;

async function publishMany(pub: Client, topic: string): Promise<void> {
  for (let i = 0; i < N; i++) await pub.mqtt.publishAsync(topic, `m${i}`, { qos: 1 });
}

function payloads(...clients: Client[]): string[] {
  return clients.flatMap((c) => c.received.map((r) => r.payload)).sort();
}

const expected = Array.from({ length: N }, (_, i) => `m${i}`).sort();

test('members on two nodes, publisher on a third: each message once, both members get some [MQTT-4.8.2-3] 5.0', {
  skip,
}, async () => {
  const [a, b, c] = cluster.nodes as [Node, Node, Node];
  const m1 = await client(a, { protocolVersion: 5 });
  const m2 = await client(b, { protocolVersion: 5 });
  const pub = await client(c);
  try {
    await m1.mqtt.subscribeAsync('$share/g1/sh/t', { qos: 1 });
    await m2.mqtt.subscribeAsync('$share/g1/sh/t', { qos: 1 });
    await routesKnown(c, 'sh/t', [a, b], 'groups');
    await publishMany(pub, 'sh/t');
    await until('all messages', () => m1.received.length + m2.received.length >= N);
    await sleep(150);
    assert.deepEqual(payloads(m1, m2), expected, 'each message exactly once');
    assert.ok(
      m1.received.length > 0 && m2.received.length > 0,
      `${m1.received.length} / ${m2.received.length}`,
    );
  } finally {
    await closeAll([m1, m2, pub]);
  }
});

test('a member on the publishing node and one elsewhere: each message once, to both', { skip }, async () => {
  const [a, b] = cluster.nodes as [Node, Node];
  const here = await client(a, { protocolVersion: 5 });
  const there = await client(b, { protocolVersion: 4 });
  const plain = await client(b);
  const pub = await client(a);
  try {
    await here.mqtt.subscribeAsync('$share/g2/sh2/#', { qos: 1 });
    await there.mqtt.subscribeAsync('$share/g2/sh2/#', { qos: 1 });
    await plain.mqtt.subscribeAsync('sh2/#', { qos: 1 });
    await routesKnown(a, 'sh2/x', [b]);
    await until(
      'a counts b as a member',
      () => a.broker.cluster!.routes.cache.group('g2', 'sh2/#')?.total === 1,
    );
    await publishMany(pub, 'sh2/x');
    await until(
      'all messages',
      () => here.received.length + there.received.length >= N && plain.received.length >= N,
    );
    await sleep(150);
    assert.deepEqual(payloads(here, there), expected);
    assert.ok(
      here.received.length > 0 && there.received.length > 0,
      `${here.received.length} / ${there.received.length}`,
    );
    assert.deepEqual(
      payloads(plain),
      expected,
      'an ordinary subscriber on the member node gets every message',
    );
  } finally {
    await closeAll([here, there, plain, pub]);
  }
});

test('a group whose only member is on another node gets every message there', { skip }, async () => {
  const [a, , c] = cluster.nodes as [Node, Node, Node];
  const member = await client(c, { protocolVersion: 5 });
  const pub = await client(a);
  try {
    await member.mqtt.subscribeAsync('$share/g3/sh3', { qos: 1 });
    await routesKnown(a, 'sh3', [c], 'groups');
    await publishMany(pub, 'sh3');
    await until('all messages', () => member.received.length >= N);
    await sleep(100);
    assert.deepEqual(payloads(member), expected);
  } finally {
    await closeAll([member, pub]);
  }
});
