// `cluster_redis_cluster true` (issue 14): two Culex nodes on a real 3-master Redis Cluster (redis-server
// --cluster-enabled, joined by `redis-cli --cluster create`). Every Culex key is under one hash tag, so each turn's
// MULTI, the Lua scripts and the inbox XREADs stay in one slot; a QoS 1 message, a retained message and a
// resumed session cross the nodes. Without the option a Redis Cluster node is refused, saying which option to set.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BrokerStartError, createBroker, parseConfig } from '../../src/index.js';
import { freePort } from '../helpers/net.js';
import { type RedisServer, requireRedis } from '../helpers/redis.js';
import { type RedisClusterSet, startRedisCluster } from '../helpers/redis-cluster.js';
import { requireTool } from '../helpers/tools.js';
import {
  client,
  closeAll,
  type Node,
  newPrefix,
  routesKnown,
  startNode,
  stopAll,
  until,
} from './fabric-helpers.js';

const run = promisify(execFile);
const skip = requireRedis() || requireTool('redis-cli');

let set: RedisClusterSet | undefined;
let masters: RedisServer[] = [];
const nodes: Node[] = [];

before(async () => {
  if (skip !== false) return;
  set = await startRedisCluster(3, 0);
  masters = set.servers;
  const prefix = newPrefix();
  // Seeded with different masters: either reaches the whole cluster.
  for (const [i, m] of [masters[0], masters[2]].entries())
    nodes.push(await startNode(m!, `n${i}`, prefix, ['cluster_redis_cluster true']));
});

after(async () => {
  await stopAll(nodes);
  await set?.stop();
});

test('every key is under one hash tag on a Redis Cluster', { skip }, async () => {
  const prefix = nodes[0]!.broker.cluster!.link.keys.prefix;
  assert.match(prefix, /^\{t\d+-\d+:\}$/);
  // All the keys the nodes wrote are in one slot, on one master.
  const slot = await run('redis-cli', ['-p', String(masters[0]!.port), 'cluster', 'keyslot', prefix]);
  let holders = 0;
  for (const m of masters) {
    const count = await run('redis-cli', [
      '-p',
      String(m.port),
      'cluster',
      'countkeysinslot',
      slot.stdout.trim(),
    ]);
    if (Number(count.stdout) > 0) holders++;
    const all = await run('redis-cli', ['-p', String(m.port), 'dbsize']);
    assert.ok(Number(all.stdout) === 0 || Number(all.stdout) === Number(count.stdout));
  }
  assert.equal(holders, 1);
  const lines = nodes[0]!.lines.join('\n');
  assert.match(lines, /Persistence: redis cluster (127\.0\.0\.1:\d+(, )?){3} \(\{t\d+-\d+:\}, node n0\)/);
  assert.match(lines, /Cluster: node n0 joined through Redis Cluster redis:\/\/127\.0\.0\.1:\d+/);
});

test('a QoS 1 message published on node A reaches a subscriber on node B through a Redis Cluster', {
  skip,
}, async () => {
  const [a, b] = nodes as [Node, Node];
  const sub = await client(b, { clientId: 'rc-sub' });
  const pub = await client(a, { clientId: 'rc-pub' });
  try {
    await sub.mqtt.subscribeAsync('rc/q1', { qos: 1 });
    await routesKnown(a, 'rc/q1', [b]);
    await pub.mqtt.publishAsync('rc/q1', 'over the cluster', { qos: 1 });
    await until('the delivery on B', () => sub.received.length === 1);
    assert.deepEqual(
      sub.received.map((r) => [r.topic, r.payload, r.qos]),
      [['rc/q1', 'over the cluster', 1]],
    );
  } finally {
    await closeAll([sub, pub]);
  }
});

// [MQTT-3.8.4-1] (3.1.1 and 5.0): the subscription exists once SUBACK is sent. On a Redis Cluster the route
// announcement crosses the cluster bus, so B's SUBACK waits until A said it applied the route.
test('a message published on node A at once after a SUBACK from node B is delivered (route confirmed)', {
  skip,
}, async () => {
  const [a, b] = nodes as [Node, Node];
  const sub = await client(b, { clientId: 'rc-wsub' });
  const pub = await client(a, { clientId: 'rc-wpub' });
  const rounds = 40;
  try {
    for (let i = 0; i < rounds; i++) {
      await sub.mqtt.subscribeAsync(`rc/window/${i}`, { qos: 1 });
      await pub.mqtt.publishAsync(`rc/window/${i}`, String(i), { qos: 1 });
    }
    // Every publish above was acknowledged: what is missing by now was never routed to B.
    await until('every delivery on B', () => sub.received.length === rounds, 5000).catch(() => undefined);
    const got = new Set(sub.received.map((r) => r.payload));
    const missed = [...Array(rounds).keys()].filter((i) => !got.has(String(i)));
    assert.deepEqual(missed, [], `messages published right after their SUBACK were not delivered: ${missed}`);
  } finally {
    await closeAll([sub, pub]);
  }
});

test('a retained message set on node A is delivered by node B', { skip }, async () => {
  const [a, b] = nodes as [Node, Node];
  const pub = await client(a, { clientId: 'rc-rpub' });
  await pub.mqtt.publishAsync('rc/kept', 'retained here', { qos: 1, retain: true });
  await closeAll([pub]);
  await until(
    'B to have the retained message',
    () => b.broker.cluster!.retained.get('rc/kept') !== undefined,
  );
  const sub = await client(b, { clientId: 'rc-rsub' });
  try {
    await sub.mqtt.subscribeAsync('rc/kept', { qos: 1 });
    await until('the retained delivery', () => sub.received.length === 1);
    assert.deepEqual(
      sub.received.map((r) => [r.payload, r.retain]),
      [['retained here', true]],
    );
  } finally {
    await closeAll([sub]);
  }
});

test('a session left on node A resumes on node B with the QoS 1 message queued meanwhile', {
  skip,
}, async () => {
  const [a, b] = nodes as [Node, Node];
  const first = await client(a, { clientId: 'rc-persist', clean: false });
  await first.mqtt.subscribeAsync('rc/queued', { qos: 1 });
  await routesKnown(b, 'rc/queued', [a]);
  await closeAll([first]);
  const pub = await client(b, { clientId: 'rc-qpub' });
  await pub.mqtt.publishAsync('rc/queued', 'while away', { qos: 1 });
  await closeAll([pub]);
  const again = await client(b, { clientId: 'rc-persist', clean: false });
  try {
    await until('the queued message on B', () => again.received.length === 1);
    assert.deepEqual(
      again.received.map((r) => [r.topic, r.payload, r.qos]),
      [['rc/queued', 'while away', 1]],
    );
  } finally {
    await closeAll([again]);
  }
});

test('without cluster_redis_cluster a Redis Cluster node is refused, naming the option', {
  skip,
}, async () => {
  const text = `listener ${await freePort()} 127.0.0.1\nlog_dest none\ncluster_node_id r\ncluster_redis_url ${masters[1]!.url}\n`;
  await assert.rejects(createBroker(parseConfig(text)), (err: unknown) => {
    assert.ok(err instanceof BrokerStartError);
    assert.equal(err.stage, 'cluster');
    assert.match(
      err.message,
      /Redis at redis:\/\/127\.0\.0\.1:\d+ is a Redis Cluster node: set "cluster_redis_cluster true" \(every Culex key then goes under one hash tag/,
    );
    return true;
  });
});
