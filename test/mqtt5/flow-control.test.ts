// MQTT 5 flow control and size limits: Receive Maximum both ways, Maximum Packet Size both ways, and the
// topic aliases Culex assigns to what it sends.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import { connect5, nextAck, nextPublish, publish5, subscribe5 } from './helpers.js';

test('[MQTT-3.3.4-7] a client exceeding our Receive Maximum gets DISCONNECT 0x93', async () => {
  await withBroker({ options: { maxInflightMessages: 3 } }, async ({ port }) => {
    const { client, connack } = await connect5(port, { clientId: 'rm-in' });
    assert.equal(connack.properties?.receiveMaximum, 3);
    // QoS 2 PUBLISHes stay unacknowledged until we send PUBREL: the fourth exceeds the quota.
    for (let id = 1; id <= 3; id++) client.send(publish5('rm/t', 'x', 2, id));
    for (let id = 1; id <= 3; id++) assert.equal((await nextAck(client, 5)).packetId, id);
    client.send(publish5('rm/t', 'x', 2, 4));
    const d = await client.nextOfType(14);
    assert.equal(d.reasonCode, 0x93);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-4.9.0-3] releasing QoS 2 messages frees the quota: PUBREL then more publishes are fine', async () => {
  await withBroker({ options: { maxInflightMessages: 2 } }, async ({ port }) => {
    const { client } = await connect5(port, { clientId: 'rm-ok' });
    for (let round = 0; round < 3; round++) {
      const a = round * 2 + 1;
      client.send(publish5('rm/t', 'x', 2, a));
      client.send(publish5('rm/t', 'x', 2, a + 1));
      await nextAck(client, 5);
      await nextAck(client, 5);
      client.send({ type: 6, packetId: a, reasonCode: 0 });
      client.send({ type: 6, packetId: a + 1, reasonCode: 0 });
      assert.equal((await nextAck(client, 7)).packetId, a);
      assert.equal((await nextAck(client, 7)).packetId, a + 1);
    }
    assert.equal(client.isClosed, false);
    client.disconnect();
  });
});

test('[MQTT-3.3.4-9] [MQTT-4.9.0-2] the server sends no more unacknowledged QoS 1 messages than the client Receive Maximum', async () => {
  await withBroker({}, async ({ port }) => {
    const sub = await connect5(port, { clientId: 'rm-out', properties: { receiveMaximum: 2 } });
    await subscribe5(sub.client, 1, 'rm/out', { qos: 1 });
    const pub = await connect5(port, { clientId: 'rm-pub' });
    for (let i = 0; i < 5; i++) pub.client.send(publish5('rm/out', `m${i}`, 1, i + 1));
    const first = (await sub.client.collect(300)).filter((p) => p.type === 3) as PublishPacket[];
    assert.equal(first.length, 2);
    // [MQTT-3.3.4-10] other packets are not held back by the full window.
    sub.client.send({ type: 12 });
    assert.equal((await sub.client.nextOfType(13)).type, 13);
    sub.client.send({ type: 4, packetId: first[0]!.packetId, reasonCode: 0 });
    const third = await nextPublish(sub.client);
    assert.equal(third.payload.toString(), 'm2');
    sub.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-3.2.2-15] a packet above our Maximum Packet Size gets DISCONNECT 0x95', async () => {
  await withBroker({ options: { maxPacketSize: 200 } }, async ({ port }) => {
    const { client, connack } = await connect5(port, { clientId: 'mps-in' });
    assert.equal(connack.properties?.maximumPacketSize, 200);
    client.send(publish5('big', Buffer.alloc(300, 1), 0));
    const d = await client.nextOfType(14);
    assert.equal(d.reasonCode, 0x95);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-3.1.2-24] [MQTT-3.1.2-25] a message larger than the client Maximum Packet Size is dropped for it and counted', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const small = await connect5(port, { clientId: 'mps-small', properties: { maximumPacketSize: 64 } });
    await subscribe5(small.client, 1, 'mps/#', { qos: 1 });
    const large = await connect5(port, { clientId: 'mps-large' });
    await subscribe5(large.client, 1, 'mps/#', { qos: 1 });
    const pub = await connect5(port, { clientId: 'mps-pub' });
    pub.client.send(publish5('mps/a', Buffer.alloc(100, 7), 1, 1));
    pub.client.send(publish5('mps/b', 'tiny', 1, 2));
    // The big one goes to the large client only; the small client gets the next message as if it had had it.
    assert.equal((await nextPublish(large.client)).topic, 'mps/a');
    const got = await nextPublish(small.client);
    assert.equal(got.topic, 'mps/b');
    assert.equal(broker.stats.droppedTooLarge, 1);
    // The dropped QoS 1 delivery does not hold a slot of the in-flight window.
    assert.equal(broker.sessions.get('mps-small')?.inflight, 1);
    for (const c of [small, large, pub]) c.client.destroy();
  });
});

test('[MQTT-3.3.2-11] [MQTT-3.1.2-26] outgoing topic aliases stay within the client Topic Alias Maximum (LRU)', async () => {
  await withBroker({}, async ({ port }) => {
    const sub = await connect5(port, { clientId: 'ta-sub', properties: { topicAliasMaximum: 2 } });
    await subscribe5(sub.client, 1, 'ta/#');
    const pub = await connect5(port, { clientId: 'ta-pub' });
    const topics = ['ta/a', 'ta/b', 'ta/a', 'ta/c', 'ta/a', 'ta/b'];
    for (const t of topics) pub.client.send(publish5(t, t, 0));
    const known = new Map<number, string>();
    const seen: { topic: string; alias: number | undefined; omitted: boolean }[] = [];
    for (let i = 0; i < topics.length; i++) {
      const p = await nextPublish(sub.client);
      const alias = p.properties?.topicAlias;
      assert.ok(alias === undefined || (alias >= 1 && alias <= 2), `alias ${alias} within 1..2`);
      let topic = p.topic;
      if (alias !== undefined) {
        if (topic === '') topic = known.get(alias) ?? '<unknown alias>';
        else known.set(alias, topic);
      }
      assert.equal(topic, p.payload.toString());
      seen.push({ topic, alias, omitted: p.topic === '' });
    }
    // a, b get 1, 2; a again by alias; c replaces b (least recently used); a by alias; b replaces c.
    assert.deepEqual(
      seen.map((s) => `${s.topic}:${s.alias}:${s.omitted ? 'alias-only' : 'named'}`),
      [
        'ta/a:1:named',
        'ta/b:2:named',
        'ta/a:1:alias-only',
        'ta/c:2:named',
        'ta/a:1:alias-only',
        'ta/b:2:named',
      ],
    );
    sub.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-3.1.2-27] no topic aliases towards a client that sent no Topic Alias Maximum', async () => {
  await withBroker({}, async ({ port }) => {
    const sub = await connect5(port, { clientId: 'ta-none' });
    await subscribe5(sub.client, 1, 'tn/#');
    const pub = await connect5(port, { clientId: 'ta-none-pub' });
    for (let i = 0; i < 3; i++) pub.client.send(publish5('tn/x', 'p', 0));
    for (let i = 0; i < 3; i++) {
      const p = await nextPublish(sub.client);
      assert.equal(p.topic, 'tn/x');
      assert.equal(p.properties?.topicAlias, undefined);
    }
    sub.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-3.3.2-7] topic aliases are not carried to a new network connection', async () => {
  await withBroker({}, async ({ port }) => {
    const pub = await connect5(port, { clientId: 'ta-pub2' });
    for (let round = 0; round < 2; round++) {
      const sub = await connect5(port, {
        clientId: 'ta-re',
        clean: false,
        properties: { topicAliasMaximum: 5, sessionExpiryInterval: 60 },
      });
      if (round === 0) await subscribe5(sub.client, 1, 'tr/x');
      pub.client.send(publish5('tr/x', 'p', 0));
      const p = await nextPublish(sub.client);
      // The first message on each connection names the topic again.
      assert.equal(p.topic, 'tr/x');
      assert.equal(p.properties?.topicAlias, 1);
      sub.client.disconnect();
      await sleep(50);
    }
    pub.client.destroy();
  });
});

test('[MQTT-3.3.2-12] incoming topic aliases up to our maximum are accepted; above it is 0x94', async () => {
  await withBroker({ options: { maxTopicAlias: 3 } }, async ({ port }) => {
    const sub = await connect5(port, { clientId: 'tai-sub' });
    await subscribe5(sub.client, 1, 'tai/#');
    const { client, connack } = await connect5(port, { clientId: 'tai' });
    assert.equal(connack.properties?.topicAliasMaximum, 3);
    client.send(publish5('tai/one', '1', 0, 0, { topicAlias: 3 }));
    client.send(publish5('', '2', 0, 0, { topicAlias: 3 }));
    assert.equal((await nextPublish(sub.client)).topic, 'tai/one');
    const second = await nextPublish(sub.client);
    assert.equal(second.topic, 'tai/one');
    assert.equal(second.properties?.topicAlias, undefined);
    client.send(publish5('tai/two', '3', 0, 0, { topicAlias: 4 }));
    assert.equal((await client.nextOfType(14)).reasonCode, 0x94);
    assert.ok(await client.waitClosed());
    sub.client.destroy();
  });
});
