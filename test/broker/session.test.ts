// Persistent sessions: offline queueing of QoS 1/2 (and QoS 0 when configured), bounded by max_queued_messages.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet, PublishPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

function publishes(packets: Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 3);
}

async function goOffline(port: number, clientId: string, filter: string): Promise<void> {
  const { client } = await RawClient.connect(port, { clientId, clean: false });
  await subscribe(client, 1, [[filter, 2]]);
  client.disconnect();
  await client.closed;
}

test('[MQTT-3.1.2-5] QoS 1 and 2 messages published while offline are delivered on reconnect, in order', async () => {
  await withBroker({}, async ({ port }) => {
    await goOffline(port, 'off', 'off/#');
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('off/1', 'a', 1, 1));
    pub.send(publishPacket('off/2', 'b', 2, 2));
    pub.send(publishPacket('off/0', 'dropped', 0));
    pub.send(publishPacket('off/3', 'c', 1, 3));
    await pub.collect(150);
    const { client, connack } = await RawClient.connect(port, { clientId: 'off', clean: false });
    assert.equal(connack.sessionPresent, true);
    const got = publishes(await client.collect(300, 3));
    assert.deepEqual(
      got.map((p) => [p.topic, p.qos, p.packetId, p.dup]),
      [
        ['off/1', 1, 1, false],
        ['off/2', 2, 2, false],
        ['off/3', 1, 3, false],
      ],
    );
    client.disconnect();
    pub.disconnect();
  });
});

test('queue_qos0_messages: QoS 0 messages are queued for an offline persistent session', async () => {
  await withBroker({ options: { queueQos0Messages: true } }, async ({ port }) => {
    await goOffline(port, 'off0', 'q0/#');
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('q0/a', 'zero', 0));
    await pub.collect(100);
    const { client } = await RawClient.connect(port, { clientId: 'off0', clean: false });
    const got = publishes(await client.collect(300, 1));
    assert.deepEqual(
      got.map((p) => [p.payload.toString(), p.qos]),
      [['zero', 0]],
    );
    client.disconnect();
    pub.disconnect();
  });
});

test('max_queued_messages bounds the offline queue (the oldest are kept, later ones dropped)', async () => {
  await withBroker(
    { options: { maxQueuedMessages: 5, maxInflightMessages: 20 } },
    async ({ port, broker }) => {
      await goOffline(port, 'bounded', 'b/#');
      const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
      for (let i = 0; i < 20; i++) pub.send(publishPacket('b/t', String(i), 1, i + 1));
      await pub.collect(200);
      assert.equal(broker.sessions.get('bounded')?.queued, 5);
      const { client } = await RawClient.connect(port, { clientId: 'bounded', clean: false });
      const got = publishes(await client.collect(300, 5));
      assert.deepEqual(
        got.map((p) => p.payload.toString()),
        ['0', '1', '2', '3', '4'],
      );
      client.disconnect();
      pub.disconnect();
    },
  );
});

test('max_inflight_messages: only that many QoS 1 messages are unacknowledged at once; the rest follow acks', async () => {
  await withBroker({ options: { maxInflightMessages: 2 } }, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['w', 1]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    for (let i = 0; i < 5; i++) pub.send(publishPacket('w', String(i), 1, i + 1));
    let got = publishes(await sub.collect(200, 2));
    assert.deepEqual(
      got.map((p) => p.packetId),
      [1, 2],
    );
    sub.send({ type: 4, packetId: 1, reasonCode: 0 });
    got = publishes(await sub.collect(200, 1));
    assert.deepEqual(
      got.map((p) => [p.packetId, p.payload.toString()]),
      [[3, '2']],
    );
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-3.1.2-6] a clean-session client receives nothing that was published while it was away', async () => {
  await withBroker({}, async ({ port }) => {
    const first = await RawClient.connect(port, { clientId: 'clean', clean: true });
    await subscribe(first.client, 1, [['c/t', 1]]);
    first.client.disconnect();
    await first.client.closed;
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('c/t', 'x', 1, 1));
    await pub.next();
    const { client } = await RawClient.connect(port, { clientId: 'clean', clean: true });
    assert.deepEqual(await client.collect(200), []);
    client.disconnect();
    pub.disconnect();
  });
});

test('persistent_client_expiration: a disconnected persistent session is removed after the limit', async () => {
  await withBroker({ options: { persistentClientExpiration: 1 } }, async ({ port, broker }) => {
    await goOffline(port, 'expiring', 'e/#');
    assert.ok(broker.sessions.has('expiring'));
    const start = Date.now();
    while (broker.sessions.has('expiring') && Date.now() - start < 4000)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(broker.sessions.has('expiring'), false);
    assert.equal(broker.subscriptions.count, 0);
    const { client, connack } = await RawClient.connect(port, { clientId: 'expiring', clean: false });
    assert.equal(connack.sessionPresent, false);
    client.disconnect();
  });
});
