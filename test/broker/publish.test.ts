// PUBLISH QoS 0/1/2 in both directions over real sockets: exact packet ids, QoS downgrade, DUP, exactly once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet, PublishPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

function publishes(packets: Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 3);
}

test('[MQTT-4.3.1-1] QoS 0 both ways: no packet id, no acknowledgement', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['q0', 2]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('q0', 'zero', 0));
    const raw = await sub.nextRaw();
    // 0x30, len, topic "q0", payload "zero": no packet identifier at QoS 0.
    assert.deepEqual(raw, Buffer.from([0x30, 8, 0, 2, 0x71, 0x30, 0x7a, 0x65, 0x72, 0x6f]));
    assert.deepEqual(await pub.collect(150), []);
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-4.3.2-1] [MQTT-4.3.2-4] QoS 1 both ways: PUBACK to the publisher, first outgoing id is 1, then 2', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['q1', 1]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('q1', 'a', 1, 300));
    const ack = await pub.next();
    assert.deepEqual(ack, { type: 4, packetId: 300, reasonCode: 0 });
    const first = await sub.nextRaw();
    assert.deepEqual(first, Buffer.from([0x32, 7, 0, 2, 0x71, 0x31, 0, 1, 0x61]));
    sub.send({ type: 4, packetId: 1, reasonCode: 0 });
    pub.send(publishPacket('q1', 'b', 1, 301));
    const second = await sub.next();
    assert.equal(second.type === 3 && second.packetId, 2);
    assert.equal(second.type === 3 && second.dup, false); // [MQTT-3.3.1-3] not a redelivery
    sub.send({ type: 4, packetId: 2, reasonCode: 0 });
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-4.3.3-1] [MQTT-4.3.3-2] QoS 2 both ways: PUBREC/PUBREL/PUBCOMP with exact ids', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['q2', 2]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('q2', 'two', 2, 9));
    assert.deepEqual(await pub.next(), { type: 5, packetId: 9, reasonCode: 0 });
    pub.send({ type: 6, packetId: 9, reasonCode: 0 });
    assert.deepEqual(await pub.next(), { type: 7, packetId: 9, reasonCode: 0 });
    const raw = await sub.nextRaw();
    assert.deepEqual(raw, Buffer.from([0x34, 9, 0, 2, 0x71, 0x32, 0, 1, 0x74, 0x77, 0x6f]));
    sub.send({ type: 5, packetId: 1, reasonCode: 0 });
    // PUBREL has fixed-header flags 0010 [MQTT-3.6.1-1].
    assert.deepEqual(await sub.nextRaw(), Buffer.from([0x62, 2, 0, 1]));
    sub.send({ type: 7, packetId: 1, reasonCode: 0 });
    assert.deepEqual(await sub.collect(150), []);
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-3.8.4-6] delivery QoS is the minimum of the published QoS and the granted QoS', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: s0 } = await RawClient.connect(port, { clientId: 's0' });
    const { client: s1 } = await RawClient.connect(port, { clientId: 's1' });
    await subscribe(s0, 1, [['d', 0]]);
    await subscribe(s1, 1, [['d', 1]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('d', 'x', 2, 1));
    pub.send(publishPacket('d', 'y', 0));
    const g0 = publishes(await s0.collect(250, 2)).map((p) => p.qos);
    const g1 = publishes(await s1.collect(50, 2)).map((p) => p.qos);
    assert.deepEqual(g0, [0, 0]);
    assert.deepEqual(g1, [1, 0]);
    s0.disconnect();
    s1.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-4.3.3-10] QoS 2 exactly once: a re-sent PUBLISH with DUP before PUBREL is not forwarded again', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['once', 2]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('once', 'x', 2, 42));
    assert.deepEqual(await pub.next(), { type: 5, packetId: 42, reasonCode: 0 });
    pub.send(publishPacket('once', 'x', 2, 42, { dup: true }));
    assert.deepEqual(await pub.next(), { type: 5, packetId: 42, reasonCode: 0 });
    pub.send({ type: 6, packetId: 42, reasonCode: 0 });
    assert.deepEqual(await pub.next(), { type: 7, packetId: 42, reasonCode: 0 });
    // After PUBCOMP the id is free again: a new message with it is a new message.
    pub.send(publishPacket('once', 'y', 2, 42));
    assert.deepEqual(await pub.next(), { type: 5, packetId: 42, reasonCode: 0 });
    pub.send({ type: 6, packetId: 42, reasonCode: 0 });
    const got = publishes(await sub.collect(300, 2)).map((p) => p.payload.toString());
    assert.deepEqual(got, ['x', 'y']);
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-4.3.3-10] QoS 2 exactly once also across a reconnect of the publisher before PUBREL', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['once2', 2]]);
    const a = await RawClient.connect(port, { clientId: 'pub2', clean: false });
    a.client.send(publishPacket('once2', 'x', 2, 5));
    await a.client.next();
    a.client.destroy();
    await a.client.closed;
    const b = await RawClient.connect(port, { clientId: 'pub2', clean: false });
    b.client.send(publishPacket('once2', 'x', 2, 5, { dup: true }));
    assert.deepEqual(await b.client.next(), { type: 5, packetId: 5, reasonCode: 0 });
    b.client.send({ type: 6, packetId: 5, reasonCode: 0 });
    assert.deepEqual(await b.client.next(), { type: 7, packetId: 5, reasonCode: 0 });
    assert.equal(publishes(await sub.collect(300, 1)).length, 1);
    sub.disconnect();
    b.client.disconnect();
  });
});

test('[MQTT-3.3.1-1] [MQTT-4.4.0-1] unacknowledged messages are resent in order with DUP on reconnect', async () => {
  await withBroker({}, async ({ port }) => {
    const s = await RawClient.connect(port, { clientId: 'resend', clean: false });
    await subscribe(s.client, 1, [['rs/#', 2]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('rs/a', '1', 1, 1));
    pub.send(publishPacket('rs/b', '2', 2, 2));
    pub.send(publishPacket('rs/c', '3', 1, 3));
    const first = publishes(await s.client.collect(300, 3));
    assert.deepEqual(
      first.map((p) => [p.packetId, p.dup]),
      [
        [1, false],
        [2, false],
        [3, false],
      ],
    );
    // Acknowledge only the QoS 2 one with PUBREC, then drop the connection.
    s.client.send({ type: 5, packetId: 2, reasonCode: 0 });
    assert.deepEqual(await s.client.nextRaw(), Buffer.from([0x62, 2, 0, 2]));
    s.client.destroy();
    await s.client.closed;
    const again = await RawClient.connect(port, { clientId: 'resend', clean: false });
    assert.equal(again.connack.sessionPresent, true);
    const resent = await again.client.collect(300, 3);
    // QoS 1 #1 with DUP, PUBREL for #2 (already received), QoS 1 #3 with DUP: the original order.
    assert.deepEqual(
      resent.map((p) =>
        p.type === 3
          ? ['publish', p.packetId, p.dup, p.payload.toString()]
          : [p.type, 'packetId' in p ? p.packetId : 0],
      ),
      [
        ['publish', 1, true, '1'],
        [6, 2],
        ['publish', 3, true, '3'],
      ],
    );
    again.client.send({ type: 4, packetId: 1, reasonCode: 0 });
    again.client.send({ type: 7, packetId: 2, reasonCode: 0 });
    again.client.send({ type: 4, packetId: 3, reasonCode: 0 });
    // A fresh message after the resend uses a fresh id without DUP.
    pub.send(publishPacket('rs/d', '4', 1, 4));
    const fresh = await again.client.nextOfType(3);
    assert.equal(fresh.dup, false);
    assert.equal(fresh.payload.toString(), '4');
    again.client.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-3.3.2-2] wildcards in a PUBLISH topic close the connection; another client is unaffected', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: other } = await RawClient.connect(port, { clientId: 'other' });
    const { client } = await RawClient.connect(port, { clientId: 'bad' });
    client.send(publishPacket('a/+', 'x'));
    assert.ok(await client.waitClosed());
    other.send({ type: 12 });
    assert.equal((await other.next()).type, 13);
    other.disconnect();
  });
});
