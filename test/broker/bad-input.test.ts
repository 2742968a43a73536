// Hostile and extreme input over real sockets: each malformed packet ends only its own connection.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import { withBroker } from '../helpers/broker.js';
import { AFTER_CONNECT, AS_CONNECT } from '../helpers/malformed-corpus.js';
import { sleep } from '../helpers/net.js';
import {
  connectPacket,
  publishPacket,
  RawClient,
  subscribe,
  subscribePacket,
} from '../helpers/raw-client.js';

/** A bystander that must keep working: it publishes to itself and must get the message back. */
async function assertAlive(bystander: RawClient, n: number): Promise<void> {
  bystander.send(publishPacket('alive', String(n), 1, (n % 60000) + 1));
  const got = await bystander.collect(120, 2);
  assert.ok(
    got.some((p) => p.type === 3 && p.payload.toString() === String(n)),
    `bystander did not get message ${n}`,
  );
  for (const p of got)
    if (p.type === 3 && p.qos === 1) bystander.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
}

test('malformed packets after CONNECT each close only their own connection', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const { client: bystander } = await RawClient.connect(port, { clientId: 'bystander' });
    await subscribe(bystander, 1, [['alive', 1]]);
    let n = 0;
    for (const [name, bytes] of AFTER_CONNECT) {
      const { client } = await RawClient.connect(port, { clientId: `bad-${n}` });
      client.send(bytes);
      assert.ok(await client.waitClosed(1500), `not closed: ${name}`);
      // [MQTT-4.8.0-1] closed without any reply in 3.1.1.
      assert.deepEqual(await client.collect(10), [], name);
      await assertAlive(bystander, n++);
    }
    for (const [name, bytes] of AS_CONNECT) {
      const client = await RawClient.open(port);
      client.send(bytes);
      assert.ok(await client.waitClosed(1500), `not closed: ${name}`);
      assert.equal(client.received.length, 0, `no CONNACK for: ${name}`);
      await assertAlive(bystander, n++);
    }
    assert.equal(broker.stats.connections, 1);
    bystander.disconnect();
  });
});

test('a connection that sends no CONNECT within the connect timeout is closed', async () => {
  await withBroker({ options: { connectTimeout: 1 } }, async ({ port }) => {
    const idle = await RawClient.open(port);
    const partial = await RawClient.open(port);
    partial.send([0x10, 0x0c, 0x00]); // the start of a CONNECT, never finished
    const start = Date.now();
    assert.ok(await idle.waitClosed(3500));
    assert.ok(await partial.waitClosed(1500));
    assert.ok(Date.now() - start >= 900);
  });
});

test('a client trickling one byte at a time is served correctly', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['drip/#', 1]]);
    const drip = await RawClient.open(port);
    drip.version = 4;
    const bytes = Buffer.concat([
      encodePacket(connectPacket({ clientId: 'drip' }), 4),
      encodePacket(publishPacket('drip/x', 'slowly', 1, 3), 4),
      encodePacket({ type: 12 }, 4),
    ]);
    for (const b of bytes) {
      drip.send([b]);
      await sleep(1);
    }
    const got = await drip.collect(300, 3);
    assert.deepEqual(
      got.map((p) => p.type),
      [2, 4, 13],
    );
    const msg = await sub.nextOfType(3);
    assert.equal(msg.payload.toString(), 'slowly');
    drip.disconnect();
    sub.disconnect();
  });
});

test('[MQTT-3.1.2-24] a packet trickled in slower than the keepalive does not keep the connection alive', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const { client: drip } = await RawClient.connect(port, { clientId: 'slowloris', keepAlive: 1 });
    const bytes = encodePacket(publishPacket('drip/x', 'never finished', 0, 0), 4);
    const start = Date.now();
    // One byte every 200 ms: bytes keep arriving, but no Control Packet completes within 1.5 x keepalive.
    for (let i = 0; i < bytes.length - 1 && !drip.isClosed && Date.now() - start < 6000; i++) {
      drip.send([bytes[i]!]);
      await sleep(200);
    }
    assert.ok(drip.isClosed, 'the trickling client was not disconnected');
    assert.ok(Date.now() - start < 4500, 'disconnected too late');
    assert.equal(broker.stats.connections, 0);
  });
});

test('[MQTT-4.7.3-3] a 65,535-byte topic name and filter work end to end', async () => {
  await withBroker({}, async ({ port }) => {
    const topic = `${'t'.repeat(65533)}/x`;
    assert.equal(Buffer.byteLength(topic), 65535);
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    assert.deepEqual(
      await subscribe(sub, 1, [
        [topic, 1],
        [`${'t'.repeat(65533)}/+`, 0],
      ]),
      [1, 0],
    );
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket(topic, 'long', 1, 1));
    const got = await sub.nextOfType(3, 3000);
    assert.equal(got.topic, topic);
    assert.equal(got.qos, 1);
    sub.disconnect();
    pub.disconnect();
  });
});

test('with max topic levels off, a filter with 1,000 levels is accepted and matches', async () => {
  // The default (201 levels, as Mosquitto) refuses it: test/security/topic-depth.test.ts.
  await withBroker({ options: { maxTopicLevels: 0 } }, async ({ port }) => {
    const topic = Array.from({ length: 1000 }, (_, i) => `l${i}`).join('/');
    const filter = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? '+' : `l${i}`)).join('/');
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    assert.deepEqual(
      await subscribe(sub, 1, [
        [filter, 0],
        [`${'+/'.repeat(999)}#`, 0],
      ]),
      [0, 0],
    );
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket(topic, 'deep'));
    pub.send(publishPacket(`${topic}/more`, 'deeper'));
    const got = (await sub.collect(300, 2)).filter((p) => p.type === 3);
    assert.equal(got.length, 2);
    sub.disconnect();
    pub.disconnect();
  });
});

test('100,000 subscriptions from one client: all acknowledged, matched, and released on disconnect', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const { client } = await RawClient.connect(port, { clientId: 'many' });
    const perPacket = 1000;
    for (let k = 0; k < 100; k++) {
      const subs = Array.from({ length: perPacket }, (_, i) => [`many/${k}/${i}`, 1] as const);
      client.send(subscribePacket(k + 1, subs));
    }
    let acked = 0;
    while (acked < 100) {
      const ack = await client.nextOfType(9, 10000);
      assert.equal(ack.reasonCodes.length, perPacket);
      assert.ok(ack.reasonCodes.every((c) => c === 1));
      acked++;
    }
    assert.equal(broker.sessions.get('many')?.subscriptionCount, 100000);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('many/99/999', 'last', 0));
    assert.equal((await client.nextOfType(3)).topic, 'many/99/999');
    client.disconnect();
    await client.closed;
    await sleep(50);
    assert.equal(broker.subscriptions.count, 0);
    pub.disconnect();
  });
});
