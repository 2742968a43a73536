// SUBSCRIBE / SUBACK / UNSUBSCRIBE and topic matching over real sockets.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet, PublishPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribe, subscribePacket } from '../helpers/raw-client.js';

function publishes(packets: Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 3);
}

test('[MQTT-4.7.1-2] [MQTT-4.7.1-3] + and # wildcards match the right topics', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [
      ['a/+/c', 0],
      ['x/#', 0],
      ['+', 0],
    ]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    for (const t of ['a/b/c', 'a//c', 'a/b/c/d', 'a/c', 'x', 'x/y', 'x/y/z', 'top', '/top', 'y/x'])
      pub.send(publishPacket(t, t));
    const got = publishes(await sub.collect(300, 6))
      .map((p) => p.topic)
      .sort();
    // "x/#" also matches the parent "x" [MQTT-4.7.1-2] (and "+" does too: one copy); "/top" has two levels.
    assert.deepEqual(got, ['a//c', 'a/b/c', 'top', 'x', 'x/y', 'x/y/z']);
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-4.7.2-1] $-topics are not matched by filters starting with a wildcard', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [
      ['#', 0],
      ['+/info', 0],
      ['$app/#', 0],
    ]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('$app/info', 'app'));
    pub.send(publishPacket('$other/info', 'other'));
    pub.send(publishPacket('plain/info', 'plain'));
    const got = publishes(await sub.collect(300, 2)).map((p) => p.topic);
    // "$app/info" only through "$app/#"; "$other/info" through nothing; "plain/info" once (two filters overlap).
    assert.deepEqual(got.sort(), ['$app/info', 'plain/info']);
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-3.3.5-1] overlapping subscriptions deliver one copy at the highest granted QoS', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [
      ['o/#', 0],
      ['o/+', 1],
      ['o/t', 2],
    ]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('o/t', 'm', 2, 5));
    const got = publishes(await sub.collect(300, 1));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.qos, 2);
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-3.8.4-1] [MQTT-3.8.4-5] [MQTT-3.9.3-1] SUBACK echoes the packet id with one code per filter, 0x80 for a refused one', async () => {
  const hooks = {
    authorize: (_c: unknown, access: string, topic: string) =>
      access !== 'subscribe' || !topic.startsWith('deny'),
  };
  await withBroker({ hooks }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 's' });
    const codes = await subscribe(client, 0x1234, [
      ['ok/0', 0],
      ['deny/1', 1],
      ['ok/2', 2],
      ['deny/#', 2],
      ['ok/1', 1],
    ]);
    assert.deepEqual(codes, [0, 0x80, 2, 0x80, 1]);
    client.disconnect();
  });
});

test('a filter deeper than max topic levels closes the connection (as Mosquitto beyond its 200 separators)', async () => {
  await withBroker({ options: { maxTopicLevels: 3 } }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 's' });
    assert.deepEqual(await subscribe(client, 1, [['a/b/c', 1]]), [1]);
    client.send(subscribePacket(2, [['a/b/c/d', 1]]));
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-4.7.1-1] [MQTT-4.7.1-2] a syntactically invalid filter is a protocol violation: the connection closes (as Mosquitto)', async () => {
  await withBroker({}, async ({ port }) => {
    for (const bad of ['bad/#/x', 'bad+', 'a/b#']) {
      const { client } = await RawClient.connect(port, { clientId: 's' });
      client.send(subscribePacket(1, [[bad, 1]]));
      assert.ok(await client.waitClosed(), bad);
    }
  });
});

test('max_qos caps the granted QoS in SUBACK', async () => {
  await withBroker({ options: { maxQos: 1 } }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 's' });
    assert.deepEqual(await subscribe(client, 1, [['q', 2]]), [1]);
    client.disconnect();
  });
});

test('[MQTT-3.8.4-3] re-subscribing replaces the subscription (new QoS), no duplicate delivery', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['r/t', 0]]);
    await subscribe(sub, 2, [['r/t', 1]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('r/t', 'x', 1, 1));
    const got = publishes(await sub.collect(300, 1));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.qos, 1);
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBSCRIBE stops delivery; UNSUBACK echoes the id even for unknown filters', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [
      ['u/t', 0],
      ['u/other', 0],
    ]);
    sub.send({ type: 10, packetId: 77, topicFilters: ['u/t', 'never/subscribed'] });
    const ack = await sub.next();
    assert.equal(ack.type, 11);
    assert.equal(ack.type === 11 && ack.packetId, 77);
    // 3.1.1 UNSUBACK is exactly 4 bytes.
    assert.deepEqual(sub.received.at(-1)?.subarray(-4), Buffer.from([0xb0, 0x02, 0x00, 77]));
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('u/t', 'gone'));
    pub.send(publishPacket('u/other', 'still'));
    const got = publishes(await sub.collect(300, 1)).map((p) => p.topic);
    assert.deepEqual(got, ['u/other']);
    sub.disconnect();
    pub.disconnect();
  });
});
