// MQTT 5 subscription options and acknowledgement outcomes: No Local, Retain As Published, Retain Handling,
// QoS clamping under Maximum QoS, and PUBACK / PUBREC failures from subscribers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet, PublishPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { connect5, nextAck, nextPublish, publish5, subscribe5 } from './helpers.js';

function onlyPublishes(packets: Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 3);
}

test('[MQTT-3.8.3-3] No Local: a client does not get its own messages back on that subscription', async () => {
  await withBroker({}, async ({ port }) => {
    const c = await connect5(port, { clientId: 'nl' });
    await subscribe5(c.client, 1, 'nl/a', { noLocal: true });
    await subscribe5(c.client, 2, 'nl/b');
    c.client.send(publish5('nl/a', 'own-a', 0));
    c.client.send(publish5('nl/b', 'own-b', 0));
    const got = onlyPublishes(await c.client.collect(300));
    assert.deepEqual(
      got.map((p) => p.topic),
      ['nl/b'],
    );
    const other = await connect5(port, { clientId: 'nl-other' });
    other.client.send(publish5('nl/a', 'from-other', 0));
    assert.equal((await nextPublish(c.client)).payload.toString(), 'from-other');
    c.client.destroy();
    other.client.destroy();
  });
});

test('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published keeps RETAIN on forwarding; without it RETAIN is cleared', async () => {
  await withBroker({}, async ({ port }) => {
    const rap = await connect5(port, { clientId: 'rap1' });
    await subscribe5(rap.client, 1, 'rap/t', { retainAsPublished: true });
    const plain = await connect5(port, { clientId: 'rap0' });
    await subscribe5(plain.client, 1, 'rap/t');
    const pub = await connect5(port, { clientId: 'rap-pub' });
    pub.client.send(publish5('rap/t', 'r', 0, 0, undefined, true));
    assert.equal((await nextPublish(rap.client)).retain, true);
    assert.equal((await nextPublish(plain.client)).retain, false);
    for (const c of [rap, plain, pub]) c.client.destroy();
  });
});

test('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 0 / 1 / 2 and [MQTT-3.8.4-4] re-subscribing', async () => {
  await withBroker({}, async ({ port }) => {
    const pub = await connect5(port, { clientId: 'rh-pub' });
    pub.client.send(publish5('rh/t', 'kept', 1, 1, undefined, true));
    await nextAck(pub.client, 4);
    const c = await connect5(port, { clientId: 'rh' });
    // 0: sent on every SUBSCRIBE, also when it replaces an existing subscription.
    await subscribe5(c.client, 1, 'rh/#', { retainHandling: 0 });
    assert.equal((await nextPublish(c.client)).retain, true);
    await subscribe5(c.client, 2, 'rh/#', { retainHandling: 0 });
    assert.equal((await nextPublish(c.client)).retain, true);
    // 1: only when the subscription is new.
    await subscribe5(c.client, 3, 'rh/+', { retainHandling: 1 });
    assert.equal((await nextPublish(c.client)).payload.toString(), 'kept');
    await subscribe5(c.client, 4, 'rh/+', { retainHandling: 1 });
    // 2: never.
    await subscribe5(c.client, 5, 'rh/t', { retainHandling: 2 });
    assert.equal(onlyPublishes(await c.client.collect(300)).length, 0);
    c.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-3.2.2-10] with Maximum QoS 1 a QoS 2 SUBSCRIBE is accepted and granted QoS 1', async () => {
  await withBroker({ options: { maxQos: 1 } }, async ({ port }) => {
    const { client, connack } = await connect5(port, { clientId: 'mq' });
    assert.equal(connack.properties?.maximumQoS, 1);
    assert.deepEqual(await subscribe5(client, 1, 'mq/t', { qos: 2 }), [1]);
    // [MQTT-3.2.2-11] a client PUBLISH above Maximum QoS is a protocol error: DISCONNECT 0x9B.
    client.send(publish5('mq/t', 'x', 2, 1));
    assert.equal((await client.nextOfType(14)).reasonCode, 0x9b);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-4.4.0-2] a PUBACK >= 0x80 ends the delivery: it is not retransmitted on reconnect', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const opts = { clientId: 'nack', properties: { sessionExpiryInterval: 60 } };
    const c = await connect5(port, opts);
    await subscribe5(c.client, 1, 'nack/t', { qos: 1 });
    const pub = await connect5(port, { clientId: 'nack-pub' });
    pub.client.send(publish5('nack/t', 'refused', 1, 1));
    const got = await nextPublish(c.client);
    c.client.send({ type: 4, packetId: got.packetId, reasonCode: 0x80 });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(broker.sessions.get('nack')?.inflight, 0);
    c.client.destroy();
    const back = await connect5(port, { ...opts, clean: false });
    assert.equal(back.connack.sessionPresent, true);
    assert.equal(onlyPublishes(await back.client.collect(300)).length, 0);
    back.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-4.8.2-6] a shared member answering PUBACK >= 0x80: the message is not sent to another member', async () => {
  await withBroker({}, async ({ port }) => {
    const a = await connect5(port, { clientId: 'sn-a' });
    await subscribe5(a.client, 1, '$share/g/sn/t', { qos: 1 });
    const pub = await connect5(port, { clientId: 'sn-pub' });
    pub.client.send(publish5('sn/t', 'once', 1, 1));
    const got = await nextPublish(a.client);
    const b = await connect5(port, { clientId: 'sn-b' });
    await subscribe5(b.client, 1, '$share/g/sn/t', { qos: 1 });
    a.client.send({ type: 4, packetId: got.packetId, reasonCode: 0x83 });
    await new Promise((r) => setTimeout(r, 50));
    a.client.destroy();
    assert.equal(onlyPublishes(await b.client.collect(300)).length, 0);
    b.client.destroy();
    pub.client.destroy();
  });
});
