// Sessions across two nodes on one redis-server: a client that connects to node B while connected to node A
// takes its session over — A closes the old connection once (DISCONNECT 0x8E for MQTT 5) with Mosquitto's log
// line; B resumes it from Redis with its subscriptions, in-flight QoS 1 / 2 messages (DUP, same packet ids),
// queued messages and incoming QoS 2 state. With Clean Start the old session is discarded instead.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/broker/logger.js';
import { DEFAULT_CLUSTER_OPTIONS } from '../../src/cluster/cluster-options.js';
import { NodeLink } from '../../src/cluster/node-link.js';
import type { AckPacket, PublishPacket } from '../../src/protocol/packets.js';
import { startNode, type TestNode } from '../helpers/cluster-nodes.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { redisForFile, requireRedis } from '../helpers/redis.js';

const skip = requireRedis();
const redis = redisForFile(skip);
let a: TestNode;
let b: TestNode;
let prefixNo = 0;

async function nodes(): Promise<void> {
  const prefix = `to${++prefixNo}:`;
  a = await startNode('a', redis.url, prefix);
  b = await startNode('b', redis.url, prefix);
}

async function stopNodes(): Promise<void> {
  await a?.stop();
  await b?.stop();
}

/** The next PUBACK / PUBREC / PUBREL / PUBCOMP of that type. */
async function nextAck(c: RawClient, type: 4 | 5 | 6 | 7): Promise<AckPacket> {
  for (;;) {
    const p = await c.next();
    if (p.type === type) return p as AckPacket;
  }
}

const v5 = (clientId: string, clean: boolean, receiveMaximum?: number) => ({
  clientId,
  clean,
  version: 5 as const,
  properties: { sessionExpiryInterval: 300, ...(receiveMaximum === undefined ? {} : { receiveMaximum }) },
});

test('[MQTT-3.1.4-3] takeover across nodes: the old node sends 0x8E once; the new one resumes subscriptions, in-flight (same ids, DUP) and queued messages', {
  skip,
}, async () => {
  await nodes();
  try {
    const old = (await RawClient.connect(a.port, v5('x', false, 2))).client;
    await subscribe(old, 1, [['q/#', 2]]);
    const pub = (await RawClient.connect(a.port, { clientId: 'p' })).client;
    pub.send(publishPacket('q/1', 'one', 1, 1));
    pub.send(publishPacket('q/2', 'two', 2, 2));
    pub.send(publishPacket('q/3', 'three', 1, 3));
    // Two in flight to x (its Receive Maximum), unacknowledged; the third waits in the queue.
    const first = await old.nextOfType(3);
    const second = await old.nextOfType(3);
    await pub.collect(100);

    const { client: fresh, connack } = await RawClient.connect(b.port, v5('x', false));
    assert.equal(connack.sessionPresent, true, `${a.lines.join('\n')}\n--\n${b.lines.join('\n')}`);
    const seenByOld = await old.collect(200);
    const disconnects = seenByOld.filter((p) => p.type === 14);
    assert.deepEqual(
      disconnects.map((p) => (p as { reasonCode: number }).reasonCode),
      [0x8e],
    );
    assert.ok(a.lines.includes('Client x already connected, closing old connection.'), a.lines.join('\n'));
    assert.equal(a.broker.internals.sessions.has('x'), false, 'node a forgot the session');
    assert.equal(b.broker.internals.sessions.get('x')?.subscriptionCount, 1);

    const resent = (await fresh.collect(300)).filter((p): p is PublishPacket => p.type === 3);
    assert.deepEqual(
      resent.map((p) => [p.topic, p.packetId, p.dup, p.qos]),
      [
        ['q/1', first.packetId, true, 1],
        ['q/2', second.packetId, true, 2],
        ['q/3', resent[2]?.packetId, false, 1],
      ],
    );
    fresh.send({ type: 4, packetId: first.packetId, reasonCode: 0 });
    fresh.send({ type: 5, packetId: second.packetId, reasonCode: 0 });
    assert.equal((await nextAck(fresh, 6)).packetId, second.packetId);
    pub.disconnect();
    fresh.disconnect();
  } finally {
    await stopNodes();
  }
});

test('[MQTT-3.1.2-4] Clean Start on another node discards the session held by the first', {
  skip,
}, async () => {
  await nodes();
  try {
    const old = (await RawClient.connect(a.port, v5('y', false))).client;
    await subscribe(old, 1, [['c/#', 1]]);
    const { client: fresh, connack } = await RawClient.connect(b.port, v5('y', true));
    assert.equal(connack.sessionPresent, false);
    assert.equal(await old.waitClosed(), true);
    assert.equal(a.broker.internals.sessions.has('y'), false);
    assert.equal(b.broker.internals.sessions.get('y')?.subscriptionCount, 0);
    fresh.disconnect();
    await fresh.waitClosed();
    // The session left Redis with its subscriptions when it was discarded: nothing comes back later.
    const { connack: again } = await RawClient.connect(a.port, v5('y', false));
    assert.equal(again.sessionPresent, true, 'the new (empty) session of b, persistent, resumes');
    assert.equal(a.broker.internals.sessions.get('y')?.subscriptionCount, 0);
  } finally {
    await stopNodes();
  }
});

test('[MQTT-4.3.3-10] incoming QoS 2 state moves with the session: PUBREL on the new node completes it, a resent PUBLISH is not routed twice', {
  skip,
}, async () => {
  await nodes();
  try {
    const sub = (await RawClient.connect(b.port, v5('s', false))).client;
    await subscribe(sub, 1, [['in', 2]]);
    const pub = (await RawClient.connect(a.port, v5('p2', false))).client;
    pub.send(publishPacket('in', 'once', 2, 7));
    assert.equal((await nextAck(pub, 5)).packetId, 7);
    const { client: pub2 } = await RawClient.connect(b.port, v5('p2', false));
    assert.equal(b.broker.internals.sessions.get('p2')?.incomingQos2.has(7), true);
    pub2.send(publishPacket('in', 'once', 2, 7, { dup: true }));
    assert.equal((await nextAck(pub2, 5)).packetId, 7);
    pub2.send({ type: 6, packetId: 7, reasonCode: 0 });
    assert.equal((await nextAck(pub2, 7)).reasonCode, 0);
    // Forwarded from node a once; the resent PUBLISH was a duplicate that node b did not route again.
    assert.deepEqual(
      (await sub.collect(300))
        .filter((p): p is PublishPacket => p.type === 3)
        .map((p) => p.payload.toString()),
      ['once'],
    );
    pub2.disconnect();
    sub.disconnect();
  } finally {
    await stopNodes();
  }
});

test('a takeover request handled after its asker gave up (it may be dead) is refused: the session stays where it is', {
  skip,
}, async () => {
  await nodes();
  const prefix = `to${prefixNo}:`;
  const asker = await NodeLink.start({
    options: {
      ...DEFAULT_CLUSTER_OPTIONS,
      redisUrl: redis.url,
      keyPrefix: prefix,
      heartbeatInterval: 100,
      nodeTimeout: 500,
    },
    nodeId: 'z',
    logger: silentLogger,
  });
  try {
    const held = (await RawClient.connect(a.port, v5('x', false))).client;
    // As a request read late (node a was busy adopting) whose asker's deadline has passed.
    const body = JSON.stringify({ c: 'x', s: false, t: Date.now() - 1 });
    await assert.rejects(asker.request('a', 'takeover', body, 2000), /takeover request expired/);
    assert.equal(a.broker.internals.sessions.get('x')?.connection?.online, true, 'the connection was closed');
    const r = new Redis(redis.url);
    assert.equal(await r.hget(`${prefix}owner`, 'x'), 'a', 'ownership moved');
    r.disconnect();
    held.disconnect();
  } finally {
    await asker.stop();
    await stopNodes();
  }
});
