// Retained messages, Will messages and keepalive over real sockets.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet, PublishPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

function publishes(packets: Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 3);
}

test('[MQTT-3.3.1-5] [MQTT-3.3.1-8] [MQTT-3.3.1-9] retained: stored, replaced, sent on subscribe with RETAIN=1, cleared on forwarding', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('ret/a', 'first', 1, 1, { retain: true }));
    await pub.next();
    pub.send(publishPacket('ret/a', 'second', 1, 2, { retain: true })); // replaces [MQTT-3.3.1-7]
    await pub.next();
    pub.send(publishPacket('ret/b', 'bee', 0, 0, { retain: true }));
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await new Promise((r) => setTimeout(r, 50));
    await subscribe(sub, 1, [['ret/#', 1]]);
    const got = publishes(await sub.collect(300, 2));
    assert.deepEqual(got.map((p) => [p.topic, p.payload.toString(), p.retain, p.qos]).sort(), [
      ['ret/a', 'second', true, 1],
      ['ret/b', 'bee', true, 0],
    ]);
    for (const p of got) if (p.qos === 1) sub.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
    // [MQTT-3.3.1-9] a retained PUBLISH forwarded to an existing subscriber has RETAIN cleared.
    pub.send(publishPacket('ret/a', 'live', 0, 0, { retain: true }));
    const live = await sub.nextOfType(3);
    assert.equal(live.payload.toString(), 'live');
    assert.equal(live.retain, false);
    sub.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload deletes the retained message (and is still forwarded)', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('del/t', 'keep', 1, 1, { retain: true }));
    await pub.next();
    const { client: live } = await RawClient.connect(port, { clientId: 'live' });
    await subscribe(live, 1, [['del/t', 0]]);
    assert.equal((await live.nextOfType(3)).retain, true);
    pub.send(publishPacket('del/t', '', 1, 2, { retain: true }));
    await pub.next();
    const forwarded = await live.nextOfType(3);
    assert.equal(forwarded.payload.length, 0);
    const { client: late } = await RawClient.connect(port, { clientId: 'late' });
    await subscribe(late, 1, [['del/#', 0]]);
    assert.deepEqual(publishes(await late.collect(200)), []);
    late.disconnect();
    live.disconnect();
    pub.disconnect();
  });
});

test('[MQTT-3.8.4-3] re-subscribing sends the retained message again', async () => {
  await withBroker({}, async ({ port }) => {
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket('rr', 'r', 1, 1, { retain: true }));
    await pub.next();
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['rr', 0]]);
    assert.equal((await sub.nextOfType(3)).retain, true);
    await subscribe(sub, 2, [['rr', 0]]);
    assert.equal((await sub.nextOfType(3)).retain, true);
    sub.disconnect();
    pub.disconnect();
  });
});

async function willWatcher(port: number, topic: string): Promise<RawClient> {
  const { client } = await RawClient.connect(port, { clientId: `watch-${topic}` });
  await subscribe(client, 1, [[topic, 2]]);
  return client;
}

test('[MQTT-3.1.2-8] the will is published when the socket drops without DISCONNECT', async () => {
  await withBroker({}, async ({ port }) => {
    const watch = await willWatcher(port, 'will/drop');
    const { client } = await RawClient.connect(port, {
      clientId: 'w1',
      will: { topic: 'will/drop', payload: 'bye', qos: 1 },
    });
    client.destroy();
    const will = await watch.nextOfType(3);
    assert.equal(will.payload.toString(), 'bye');
    assert.equal(will.qos, 1);
    watch.disconnect();
  });
});

test('[MQTT-3.1.2-8] the will is published when the server closes the connection for a protocol error', async () => {
  await withBroker({}, async ({ port }) => {
    const watch = await willWatcher(port, 'will/proto');
    const { client } = await RawClient.connect(port, {
      clientId: 'w2',
      will: { topic: 'will/proto', payload: 'err' },
    });
    client.send([0x20, 0x02, 0x00, 0x00]); // CONNACK from a client: protocol violation
    assert.ok(await client.waitClosed());
    assert.equal((await watch.nextOfType(3)).payload.toString(), 'err');
    watch.disconnect();
  });
});

test('[MQTT-3.1.2-10] [MQTT-3.14.4-3] no will after a normal DISCONNECT', async () => {
  await withBroker({}, async ({ port }) => {
    const watch = await willWatcher(port, 'will/none');
    const { client } = await RawClient.connect(port, {
      clientId: 'w3',
      will: { topic: 'will/none', payload: 'no' },
    });
    client.disconnect();
    await client.closed;
    assert.deepEqual(publishes(await watch.collect(300)), []);
    watch.disconnect();
  });
});

test('[MQTT-3.1.2-17] will retain and QoS are honoured', async () => {
  await withBroker({}, async ({ port }) => {
    const { client } = await RawClient.connect(port, {
      clientId: 'w4',
      will: { topic: 'will/ret', payload: 'kept', qos: 2, retain: true },
    });
    client.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const { client: late } = await RawClient.connect(port, { clientId: 'late' });
    await subscribe(late, 1, [['will/ret', 2]]);
    const got = await late.nextOfType(3);
    assert.equal(got.payload.toString(), 'kept');
    assert.equal(got.retain, true);
    assert.equal(got.qos, 2);
    late.disconnect();
  });
});

test('[MQTT-3.1.2-24] keepalive: silent for 1.5x keepalive -> disconnected and the will is published', async () => {
  await withBroker({}, async ({ port }) => {
    const watch = await willWatcher(port, 'will/ka');
    const start = Date.now();
    const { client } = await RawClient.connect(port, {
      clientId: 'ka',
      keepAlive: 1,
      will: { topic: 'will/ka', payload: 'timeout' },
    });
    // Keep the watcher alive (its keepalive is 60) and let the broker's once-a-second sweep find the silence.
    assert.ok(await client.waitClosed(4000));
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 1400, `closed after ${elapsed} ms, before 1.5 x keepalive`);
    assert.equal((await watch.nextOfType(3)).payload.toString(), 'timeout');
    watch.disconnect();
  });
});

test('[MQTT-3.1.2-23] keepalive: PINGREQ keeps the connection open past 1.5x keepalive', async () => {
  await withBroker({}, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'ping', keepAlive: 1 });
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 500));
      client.send({ type: 12 });
      assert.equal((await client.next()).type, 13);
    }
    assert.equal(client.isClosed, false);
    client.disconnect();
  });
});
