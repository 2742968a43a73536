// MQTT 5 shared subscriptions: one member per message, round-robin, redelivery when a member goes away,
// and no retained messages for shared subscriptions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import { connect5, nextAck, publish5, subscribe5 } from './helpers.js';

async function publishes(
  client: { collect(ms: number): Promise<import('../../src/protocol/packets.js').Packet[]> },
  ms = 250,
): Promise<PublishPacket[]> {
  return (await client.collect(ms)).filter((p): p is PublishPacket => p.type === 3);
}

test('[MQTT-4.8.2-1] [MQTT-4.8.2-3] each message goes to one member of the group, round-robin, at the granted QoS', async () => {
  await withBroker({}, async ({ port }) => {
    const a = await connect5(port, { clientId: 'sh-a' });
    const b = await connect5(port, { clientId: 'sh-b' });
    assert.deepEqual(await subscribe5(a.client, 1, '$share/g/sh/t', { qos: 0 }), [0]);
    assert.deepEqual(await subscribe5(b.client, 1, '$share/g/sh/t', { qos: 1 }), [1]);
    const pub = await connect5(port, { clientId: 'sh-pub' });
    for (let i = 0; i < 6; i++) pub.client.send(publish5('sh/t', `m${i}`, 1, i + 1));
    const gotA = await publishes(a.client);
    const gotB = await publishes(b.client);
    assert.equal(gotA.length, 3);
    assert.equal(gotB.length, 3);
    assert.ok(gotA.every((p) => p.qos === 0));
    assert.ok(gotB.every((p) => p.qos === 1));
    const all = [...gotA, ...gotB].map((p) => p.payload.toString()).sort();
    assert.deepEqual(all, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    for (const c of [a, b, pub]) c.client.destroy();
  });
});

test('unacknowledged QoS 1 messages of a member that disconnects go to another member', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const a = await connect5(port, { clientId: 'rd-a', properties: { receiveMaximum: 1 } });
    await subscribe5(a.client, 1, '$share/g/rd/t', { qos: 1 });
    const pub = await connect5(port, { clientId: 'rd-pub' });
    // Only a is a member yet: it gets the first in flight and queues the rest (Receive Maximum 1).
    for (let i = 0; i < 3; i++) pub.client.send(publish5('rd/t', `m${i}`, 1, i + 1));
    for (let i = 0; i < 3; i++) await nextAck(pub.client, 4);
    const first = await publishes(a.client);
    assert.equal(first.length, 1);
    const b = await connect5(port, { clientId: 'rd-b' });
    await subscribe5(b.client, 1, '$share/g/rd/t', { qos: 1 });
    // a goes away without acknowledging: everything it held moves to b.
    a.client.destroy();
    const moved = await publishes(b.client, 400);
    assert.deepEqual(moved.map((p) => p.payload.toString()).sort(), ['m0', 'm1', 'm2']);
    assert.ok(moved.every((p) => p.dup === false));
    assert.equal(broker.sessions.get('rd-a'), undefined);
    b.client.destroy();
    pub.client.destroy();
  });
});

test('a member whose session expires before it reconnects: what it held goes to another member (4.8.2) 5.0', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const a = await connect5(port, {
      clientId: 'ex-a',
      clean: false,
      properties: { receiveMaximum: 1, sessionExpiryInterval: 1 },
    });
    await subscribe5(a.client, 1, '$share/g/ex/t', { qos: 1 });
    const pub = await connect5(port, { clientId: 'ex-pub' });
    for (let i = 0; i < 3; i++) pub.client.send(publish5('ex/t', `m${i}`, 1, i + 1));
    for (let i = 0; i < 3; i++) await nextAck(pub.client, 4);
    assert.equal((await publishes(a.client)).length, 1);
    // No other member is connected when a goes: its messages wait with its session.
    a.client.destroy();
    await sleep(100);
    const b = await connect5(port, { clientId: 'ex-b' });
    await subscribe5(b.client, 1, '$share/g/ex/t', { qos: 1 });
    assert.equal((await publishes(b.client, 200)).length, 0);
    // a's session ends (1 s later, at the broker's next sweep): b gets what a held.
    const moved = await publishes(b.client, 2500);
    assert.deepEqual(moved.map((p) => p.payload.toString()).sort(), ['m0', 'm1', 'm2']);
    assert.equal(broker.sessions.get('ex-a'), undefined);
    b.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-4.8.2-4] [MQTT-4.8.2-5] a QoS 2 message already sent stays with its member and is completed on reconnect', async () => {
  await withBroker({}, async ({ port }) => {
    const a = await connect5(port, { clientId: 'q2-a', properties: { sessionExpiryInterval: 60 } });
    await subscribe5(a.client, 1, '$share/g/q2/t', { qos: 2 });
    const pub = await connect5(port, { clientId: 'q2-pub' });
    pub.client.send(publish5('q2/t', 'only', 2, 1));
    const sent = await publishes(a.client);
    assert.equal(sent.length, 1);
    const b = await connect5(port, { clientId: 'q2-b' });
    await subscribe5(b.client, 1, '$share/g/q2/t', { qos: 2 });
    a.client.destroy();
    assert.equal((await publishes(b.client, 300)).length, 0);
    const back = await connect5(port, {
      clientId: 'q2-a',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    const again = await publishes(back.client);
    assert.equal(again.length, 1);
    assert.equal(again[0]!.dup, true);
    assert.equal(again[0]!.packetId, sent[0]!.packetId);
    for (const c of [back, b, pub]) c.client.destroy();
  });
});

test('a shared subscription gets no retained messages', async () => {
  await withBroker({}, async ({ port }) => {
    const pub = await connect5(port, { clientId: 'shr-pub' });
    pub.client.send(publish5('shr/t', 'kept', 1, 1, undefined, true));
    await nextAck(pub.client, 4);
    const s = await connect5(port, { clientId: 'shr-sub' });
    await subscribe5(s.client, 1, '$share/g/shr/#', { qos: 1 });
    assert.equal((await publishes(s.client)).length, 0);
    const plain = await connect5(port, { clientId: 'shr-plain' });
    await subscribe5(plain.client, 1, 'shr/#', { qos: 1 });
    assert.equal((await publishes(plain.client)).length, 1);
    for (const c of [pub, s, plain]) c.client.destroy();
  });
});

test('[MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error: DISCONNECT 0x82', async () => {
  await withBroker({}, async ({ port }) => {
    const s = await connect5(port, { clientId: 'shnl' });
    s.client.send({
      type: 8,
      packetId: 1,
      subscriptions: [
        { topicFilter: '$share/g/x', qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    const d = await s.client.nextOfType(14);
    assert.equal(d.reasonCode, 0x82);
    assert.ok(await s.client.waitClosed());
    await sleep(10);
  });
});
