// Publisher and subscriber on different nodes of one cluster behave as on one broker: QoS granted, RETAIN on
// forwarding, overlapping subscriptions merged, subscription identifiers, properties, No Local's input (the
// publisher's client id), MQTT 3.1.1 and 5 mixed; and a message goes only to nodes with a matching subscription.

import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { test } from 'node:test';
import type { PublishEvent } from '../../src/broker/diagnostics.js';
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
const cluster = useCluster(3);

test('QoS 0, 1 and 2 cross nodes with the QoS granted [MQTT-3.8.4-6]', { skip }, async () => {
  const [a, b] = cluster.nodes as [Node, Node];
  const sub2 = await client(b, { protocolVersion: 5 });
  const sub1 = await client(b, { protocolVersion: 4 });
  const pub = await client(a, { protocolVersion: 5 });
  try {
    await sub2.mqtt.subscribeAsync('qos/#', { qos: 2 });
    await sub1.mqtt.subscribeAsync('qos/#', { qos: 1 });
    await routesKnown(a, 'qos/x', [b]);
    for (const qos of [0, 1, 2] as const) await pub.mqtt.publishAsync(`qos/${qos}`, `m${qos}`, { qos });
    await until('all deliveries', () => sub2.received.length === 3 && sub1.received.length === 3);
    const got = (c: typeof sub1) => c.received.map((r) => `${r.topic}:${r.payload}:${r.qos}`).sort();
    assert.deepEqual(got(sub2), ['qos/0:m0:0', 'qos/1:m1:1', 'qos/2:m2:2']);
    assert.deepEqual(got(sub1), ['qos/0:m0:0', 'qos/1:m1:1', 'qos/2:m2:1']);
  } finally {
    await closeAll([sub1, sub2, pub]);
  }
});

test('RETAIN is 0 on forwarding across nodes, kept with Retain As Published [MQTT-3.3.1-12] [MQTT-3.3.1-13]', {
  skip,
}, async () => {
  const [a, b] = cluster.nodes as [Node, Node];
  const plain = await client(b, { protocolVersion: 5 });
  const rap = await client(b, { protocolVersion: 5 });
  const pub = await client(a, { protocolVersion: 4 });
  try {
    await plain.mqtt.subscribeAsync('rf/t', { qos: 1 });
    await rap.mqtt.subscribeAsync('rf/t', { qos: 1, rap: true });
    await routesKnown(a, 'rf/t', [b]);
    await pub.mqtt.publishAsync('rf/t', 'kept', { qos: 1, retain: true });
    await until('both', () => plain.received.length === 1 && rap.received.length === 1);
    assert.equal(plain.received[0]!.retain, false);
    assert.equal(rap.received[0]!.retain, true);
    await pub.mqtt.publishAsync('rf/t', '', { qos: 1, retain: true });
  } finally {
    await closeAll([plain, rap, pub]);
  }
});

test('overlapping subscriptions on another node: one copy, highest QoS, every identifier [MQTT-3.3.4-2] 5.0', {
  skip,
}, async () => {
  const [a, , c] = cluster.nodes as [Node, Node, Node];
  const sub = await client(c, { protocolVersion: 5 });
  const pub = await client(a, { protocolVersion: 5 });
  try {
    await sub.mqtt.subscribeAsync('ov/+/x', { qos: 0, properties: { subscriptionIdentifier: 7 } });
    await sub.mqtt.subscribeAsync('ov/#', { qos: 2, properties: { subscriptionIdentifier: 9 } });
    await routesKnown(a, 'ov/a/x', [c]);
    await pub.mqtt.publishAsync('ov/a/x', 'one', {
      qos: 2,
      properties: { userProperties: { k: 'v' }, contentType: 'text/plain' },
    });
    await until('a delivery', () => sub.received.length >= 1);
    await sleep(150);
    assert.equal(sub.received.length, 1, 'one copy for the two subscriptions');
    const r = sub.received[0]!;
    assert.equal(r.qos, 2);
    assert.deepEqual(r.subscriptionIds?.sort(), [7, 9]);
    assert.deepEqual({ ...r.userProperties }, { k: 'v' });
  } finally {
    await closeAll([sub, pub]);
  }
});

test('MQTT 3.1.1 and 5 clients mixed across nodes, both ways', { skip }, async () => {
  const [a, b] = cluster.nodes as [Node, Node];
  const v4 = await client(a, { protocolVersion: 4 });
  const v5 = await client(b, { protocolVersion: 5 });
  try {
    await v4.mqtt.subscribeAsync('mix/to4', { qos: 1 });
    await v5.mqtt.subscribeAsync('mix/to5', { qos: 1 });
    await routesKnown(b, 'mix/to4', [a]);
    await routesKnown(a, 'mix/to5', [b]);
    await v5.mqtt.publishAsync('mix/to4', 'from5', { qos: 1, properties: { userProperties: { p: '1' } } });
    await v4.mqtt.publishAsync('mix/to5', 'from4', { qos: 1 });
    await until('both', () => v4.received.length === 1 && v5.received.length === 1);
    assert.equal(v4.received[0]!.payload, 'from5');
    assert.equal(v5.received[0]!.payload, 'from4');
  } finally {
    await closeAll([v4, v5]);
  }
});

test('a forwarded message keeps its publisher as origin (No Local across nodes) and is published with origin "cluster"', {
  skip,
}, async () => {
  const [a, b] = cluster.nodes as [Node, Node];
  const seen: PublishEvent[] = [];
  const onPublish = (e: unknown) => {
    const event = e as PublishEvent;
    if (event.message.topic === 'nl/t') seen.push(event);
  };
  channel('culex:publish').subscribe(onPublish);
  const sub = await client(b, { protocolVersion: 5, clientId: 'nl-sub' });
  const self = await client(b, { protocolVersion: 5, clientId: 'nl-self' });
  const pub = await client(a, { protocolVersion: 5, clientId: 'nl-pub' });
  try {
    await sub.mqtt.subscribeAsync('nl/t', { qos: 1, nl: true });
    await self.mqtt.subscribeAsync('nl/t', { qos: 1, nl: true });
    await routesKnown(a, 'nl/t', [b]);
    await pub.mqtt.publishAsync('nl/t', 'x', { qos: 1 });
    await self.mqtt.publishAsync('nl/t', 'own', { qos: 1 });
    await until('deliveries', () => sub.received.length === 2);
    await sleep(100);
    assert.deepEqual(
      self.received.map((r) => r.payload),
      ['x'],
      'No Local: not its own message [MQTT-3.8.3-3]',
    );
    const peer = seen.filter((e) => e.origin === 'cluster');
    assert.deepEqual(
      peer.map((e) => e.message.origin),
      ['nl-pub'],
    );
  } finally {
    channel('culex:publish').unsubscribe(onPublish);
    await closeAll([sub, self, pub]);
  }
});

test('a message goes only to the nodes with a matching subscription, once per node', { skip }, async () => {
  const [a, b, c] = cluster.nodes as [Node, Node, Node];
  const keys = a.broker.cluster!.link.keys;
  const inboxLength = async (n: Node) => Number(await a.broker.cluster!.link.redis.xlen(keys.inbox(n.id)));
  const subs = [await client(b), await client(b)];
  const pub = await client(a);
  try {
    for (const s of subs) await s.mqtt.subscribeAsync('only/b/#', { qos: 1 });
    await routesKnown(a, 'only/b/x', [b]);
    const forwarded = a.broker.cluster!.counters.forwarded;
    const cReceived = c.broker.cluster!.counters.received;
    const bReceived = b.broker.cluster!.counters.received;
    for (let i = 0; i < 10; i++) await pub.mqtt.publishAsync('only/b/x', `m${i}`, { qos: 1 });
    await until('deliveries', () => subs.every((s) => s.received.length === 10));
    assert.equal(a.broker.cluster!.counters.forwarded - forwarded, 10, 'one copy per message for node b');
    assert.equal(b.broker.cluster!.counters.received - bReceived, 10);
    assert.equal(c.broker.cluster!.counters.received - cReceived, 0, 'nothing for node c');
    assert.equal(await inboxLength(c), 0);
    // Unsubscribed: the route leaves every cache and node b gets nothing more.
    for (const s of subs) await s.mqtt.unsubscribeAsync('only/b/#');
    await until('route gone', () => a.broker.cluster!.routes.cache.match('only/b/y').nodes.length === 0);
    await pub.mqtt.publishAsync('only/b/y', 'late', { qos: 1 });
    assert.equal(a.broker.cluster!.counters.forwarded - forwarded, 10);
  } finally {
    await closeAll([...subs, pub]);
  }
});

test('a SUBACK for a new route waits for the other nodes to apply it; a silent node holds it for the bound only', {
  skip,
}, async () => {
  const [a, b, c] = cluster.nodes as [Node, Node, Node];
  const confirmations = a.broker.cluster!.routes.confirmations;
  const sub = await client(a);
  const silenced = c.broker.cluster!.link;
  try {
    const before = confirmations.timedOut;
    await sub.mqtt.subscribeAsync('confirm/first', { qos: 1 });
    // The SUBACK came after b and c applied the route: both know it already, with no wait.
    for (const n of [b, c])
      assert.deepEqual(n.broker.cluster!.routes.cache.match('confirm/first').nodes, [a.id]);
    assert.equal(confirmations.timedOut, before);
    // c stops hearing route changes (as a node whose pub/sub connection hangs would).
    await silenced.subscriber.unsubscribe(silenced.keys.routesChannel);
    const started = Date.now();
    await sub.mqtt.subscribeAsync('confirm/second', { qos: 1 });
    const held = Date.now() - started;
    assert.equal(confirmations.timedOut, before + 1);
    assert.ok(held >= 90, `SUBACK held ${held} ms, the bound is 100 ms`);
    assert.deepEqual(b.broker.cluster!.routes.cache.match('confirm/second').nodes, [a.id]);
    assert.ok(
      a.lines.some((l) =>
        l.startsWith(`warning: Cluster: node ${c.id} did not confirm a route change within 100 ms`),
      ),
    );
  } finally {
    await silenced.subscriber.subscribe(silenced.keys.routesChannel);
    await c.broker.cluster!.routes.load();
    await closeAll([sub]);
  }
});
