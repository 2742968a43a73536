// Failures of the fabric: a node that stops beating loses its routes on every survivor (its reaper deletes its
// table), and while Redis is down local traffic keeps flowing, a QoS 1 PUBLISH that must cross nodes is not
// acknowledged until Redis has it, and cross-node traffic resumes once Redis is back.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../helpers/net.js';
import {
  client,
  closeAll,
  type Node,
  routesKnown,
  skipWithoutRedis,
  until,
  useCluster,
} from './fabric-helpers.js';

const skip = skipWithoutRedis;
// Every write on disk before Redis answers: a SIGKILL of Redis loses nothing it acknowledged.
const cluster = useCluster(3, { args: ['--appendfsync', 'always'] }, ['cluster_node_timeout 1s']);

test('a node that stops beating is declared dead and its routes leave every node', { skip }, async () => {
  const [a, b, c] = cluster.nodes as [Node, Node, Node];
  const sub = await client(c);
  const pub = await client(a);
  try {
    await sub.mqtt.subscribeAsync('dn/#', { qos: 1 });
    await routesKnown(a, 'dn/x', [c]);
    await routesKnown(b, 'dn/x', [c]);
    // c's cluster part goes silent as in a crash (no leave, no route removal of its own).
    await c.broker.cluster!.link.stop({ leave: false });
    await until('routes of c gone on a and b', () =>
      [a, b].every((n) => n.broker.cluster!.routes.cache.match('dn/x').nodes.length === 0),
    );
    const redisClient = a.broker.cluster!.link.redis;
    const keys = a.broker.cluster!.link.keys;
    await until('c left the members', () => !a.broker.cluster!.link.isAlive('c'));
    assert.equal(await redisClient.exists(keys.routes('n2')), 0, 'its route table is deleted');
    const before = a.broker.cluster!.counters.forwarded;
    await pub.mqtt.publishAsync('dn/x', 'nobody', { qos: 1 });
    assert.equal(a.broker.cluster!.counters.forwarded, before, 'nothing sent to the dead node');
    assert.ok(
      a.lines.some((l) => l.includes('Cluster: node n2 is dead')) ||
        b.lines.some((l) => l.includes('Cluster: node n2 is dead')),
    );
  } finally {
    await closeAll([sub, pub]);
  }
});

test('Redis killed and restarted: local traffic flows, a cross-node QoS 1 is acknowledged only once Redis has it, then delivered', {
  skip,
}, async () => {
  const [a, b] = cluster.nodes as [Node, Node];
  const remoteSub = await client(b, { protocolVersion: 5 });
  const localSub = await client(a);
  const localPub = await client(a);
  const crossPub = await client(a, { protocolVersion: 5 });
  try {
    await remoteSub.mqtt.subscribeAsync('out/#', { qos: 1 });
    await localSub.mqtt.subscribeAsync('loc/#', { qos: 0 });
    await routesKnown(a, 'out/x', [b]);
    await cluster.redis.kill();
    await until('a saw the loss', () => a.lines.some((l) => l.includes('Cluster: Redis connection lost')));
    for (let i = 0; i < 3; i++) await localPub.mqtt.publishAsync('loc/x', `l${i}`, { qos: 0 });
    await until('local deliveries during the outage', () => localSub.received.length === 3);
    let acked = false;
    const ack = crossPub.mqtt.publishAsync('out/1', 'across', { qos: 1 }).then(() => {
      acked = true;
    });
    await sleep(300);
    assert.equal(acked, false, 'no PUBACK while Redis cannot take the cross-node copy');
    assert.equal(remoteSub.received.length, 0);
    await cluster.redis.restart();
    await until(
      'restored',
      () => a.lines.some((l) => l.includes('Cluster: Redis connection restored.')),
      8000,
    );
    await ack;
    await until('queued message delivered on b', () => remoteSub.received.length === 1, 8000);
    await crossPub.mqtt.publishAsync('out/2', 'after', { qos: 1 });
    await until('cross-node traffic resumed', () => remoteSub.received.length === 2, 8000);
    assert.deepEqual(
      remoteSub.received.map((r) => r.payload),
      ['across', 'after'],
    );
    assert.ok(
      a.lines.some((l) => /warning: Cluster: Redis connection lost \(.*\); retrying\./.test(l)),
      a.lines.join('\n'),
    );
  } finally {
    await closeAll([remoteSub, localSub, localPub, crossPub]);
  }
});
