// Retained messages are cluster-wide: a new subscriber on any node gets every matching retained message, a
// deletion on one node holds on all, and a node that joins later loads them from Redis. $SYS stays per node.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep } from '../helpers/net.js';
import { askRedis, type RedisServer, requireRedis, startRedis } from '../helpers/redis.js';
import { client, closeAll, type Node, newPrefix, startNode, stopAll, until } from './fabric-helpers.js';

const skip = requireRedis();
let redis: RedisServer;
let nodes: Node[] = [];
let prefix = '';
before(async () => {
  if (skip !== false) return;
  redis = await startRedis();
  prefix = newPrefix();
  nodes = [
    await startNode(redis, 'r0', prefix, ['sys_interval 1']),
    await startNode(redis, 'r1', prefix, ['sys_interval 1']),
  ];
});
after(async () => {
  await stopAll(nodes);
  await redis?.stop();
});

async function retainedOn(node: Node, filter: string): Promise<string[]> {
  const c = await client(node, { protocolVersion: 5 });
  try {
    await c.mqtt.subscribeAsync(filter, { qos: 1 });
    await sleep(100);
    return c.received
      .filter((r) => r.retain)
      .map((r) => `${r.topic}=${r.payload}`)
      .sort();
  } finally {
    await closeAll([c]);
  }
}

test('a retained message published on one node is sent to a new subscriber on another [MQTT-3.3.1-9]', {
  skip,
}, async () => {
  const [a, b] = nodes as [Node, Node];
  const pub = await client(a);
  try {
    await pub.mqtt.publishAsync('ret/1', 'one', { qos: 1, retain: true });
    await pub.mqtt.publishAsync('ret/2', 'two', { qos: 0, retain: true });
    await until('b has the copies', () => b.broker.internals.retained.get('ret/2') !== undefined);
    assert.deepEqual(await retainedOn(b, 'ret/#'), ['ret/1=one', 'ret/2=two']);
    // The QoS 1 one was in Redis before its PUBACK.
    const stored = await a.broker.cluster!.link.redis.hexists(`${prefix}retained`, 'ret/1');
    assert.equal(stored, 1);
  } finally {
    await closeAll([pub]);
  }
});

test('an empty retained payload on one node deletes the message on every node [MQTT-3.3.1-6]', {
  skip,
}, async () => {
  const [a, b] = nodes as [Node, Node];
  const pub = await client(b);
  try {
    await pub.mqtt.publishAsync('del/x', 'here', { qos: 1, retain: true });
    await until('a has it', () => a.broker.internals.retained.get('del/x') !== undefined);
    await pub.mqtt.publishAsync('del/x', '', { qos: 1, retain: true });
    await until('a lost it', () => a.broker.internals.retained.get('del/x') === undefined);
    assert.deepEqual(await retainedOn(a, 'del/#'), []);
  } finally {
    await closeAll([pub]);
  }
});

test('a node that joins later loads every retained message from Redis', { skip }, async () => {
  const [a] = nodes as [Node];
  const pub = await client(a);
  try {
    await pub.mqtt.publishAsync('late/x', 'for the newcomer', { qos: 1, retain: true });
  } finally {
    await closeAll([pub]);
  }
  const late = await startNode(redis, 'r2', prefix);
  nodes.push(late);
  assert.deepEqual(await retainedOn(late, 'late/#'), ['late/x=for the newcomer']);
});

test('$SYS is per node, with the cluster figures under $SYS/broker/cluster/', { skip }, async () => {
  const [a, b] = nodes as [Node, Node];
  await until(
    'cluster $SYS',
    () => a.broker.internals.retained.get('$SYS/broker/cluster/node') !== undefined,
  );
  assert.equal(a.broker.internals.retained.get('$SYS/broker/cluster/node')?.payload.toString(), 'r0');
  assert.equal(b.broker.internals.retained.get('$SYS/broker/cluster/node')?.payload.toString(), 'r1');
  await until(
    'three nodes',
    () => a.broker.internals.retained.get('$SYS/broker/cluster/nodes')?.payload.toString() === '3',
    3000,
  );
  const keys = await a.broker.cluster!.link.redis.hkeys(`${prefix}retained`);
  assert.ok(!keys.some((k) => k.startsWith('$SYS')), 'no $SYS in the shared hash');
});

test('expired retained messages are deleted from the Redis hash when a node loads it; live ones stay [MQTT-3.3.2-5]', {
  skip,
}, async () => {
  const [a] = nodes as [Node];
  const pub = await client(a, { protocolVersion: 5 });
  try {
    await pub.mqtt.publishAsync('exp/short', 'gone soon', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await pub.mqtt.publishAsync('exp/long', 'stays', { qos: 1, retain: true });
  } finally {
    await closeAll([pub]);
  }
  const fields = () => askRedis(redis.port, (r) => r.hkeys(`${prefix}retained`));
  assert.ok((await fields()).includes('exp/short'), 'written to the hash');
  await sleep(1200);
  const late = await startNode(redis, 'r3', prefix);
  nodes.push(late);
  assert.deepEqual(await retainedOn(late, 'exp/#'), ['exp/long=stays']);
  const left = await fields();
  assert.equal(left.includes('exp/short'), false, `expired message still in the hash: ${left.join(', ')}`);
  assert.ok(left.includes('exp/long'));
});
