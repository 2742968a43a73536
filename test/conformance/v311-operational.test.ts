// MQTT 3.1.1 conformance, section 4 (operational behaviour), checked on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { startBroker, type TestBroker, withBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { packet, str, u16 } from './bytes.js';

let b: TestBroker;
before(async () => {
  // Disconnected persistent sessions expire after 1 s, so a connected one must visibly outlive that.
  b = await startBroker({ options: { persistentClientExpiration: 1 } });
});
after(() => b.stop());

async function connected(clientId: string, clean = true): Promise<RawClient> {
  const { client, connack } = await RawClient.connect(b.port, { clientId, clean });
  assert.equal(connack.reasonCode, 0);
  return client;
}

function payloads(ps: ReadonlyArray<{ type: number }>): string[] {
  return ps.flatMap((p) => ('payload' in p && Buffer.isBuffer(p.payload) ? [p.payload.toString()] : []));
}

test('[MQTT-4.1.0-1] [MQTT-4.1.0-2] 3.1.1: session state lasts as long as the connection, past the persistent-session expiry', async () => {
  const c = await connected('o-live', false);
  await subscribe(c, 1, [['live/t', 1]]);
  const pub = await connected('o-live-p');
  pub.send(publishPacket('live/t', 'unacked', 1, 1));
  const first = await c.nextOfType(3);
  // Keep the connection busy with pings across two expiry sweeps (1 s expiry, 1 s sweep).
  for (let i = 0; i < 5; i++) {
    c.send([0xc0, 0]);
    await c.nextOfType(13);
    await sleep(500);
  }
  pub.send(publishPacket('live/t', 'later', 1, 2));
  const second = await c.nextOfType(3);
  assert.equal(second.payload.toString(), 'later');
  assert.notEqual(second.packetId, first.packetId, 'the unacknowledged first identifier is still in use');
  c.destroy();
  pub.destroy();
});

test('[MQTT-4.3.2-2] 3.1.1: after PUBACK the same packet identifier is a new publication, even with DUP set', async () => {
  const sub = await connected('o-q1-s');
  await subscribe(sub, 1, [['q1new/t', 0]]);
  const pub = await connected('o-q1-p');
  pub.send(packet(0x32, str('q1new/t'), u16(5), Buffer.from('one')));
  await pub.nextOfType(4);
  pub.send(packet(0x3a, str('q1new/t'), u16(5), Buffer.from('two'))); // DUP=1
  await pub.nextOfType(4);
  assert.deepEqual(payloads(await sub.collect(250, 2)), ['one', 'two']);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-4.5.0-1] 3.1.1: an accepted message is added to the session of every matching subscriber, connected or not', async () => {
  const off = await connected('o-own-off', false);
  await subscribe(off, 1, [['own/#', 1]]);
  off.disconnect();
  await off.closed;
  const on = await connected('o-own-on');
  await subscribe(on, 1, [['own/+', 1]]);
  const pub = await connected('o-own-p');
  pub.send(publishPacket('own/x', 'm', 1, 1));
  await pub.nextOfType(4);
  assert.deepEqual(payloads(await on.collect(200, 1)), ['m']);
  const back = await RawClient.connect(b.port, { clientId: 'o-own-off', clean: false });
  assert.equal(back.connack.sessionPresent, true);
  assert.deepEqual(payloads(await back.client.collect(200, 1)), ['m']);
  back.client.destroy();
  on.destroy();
  pub.destroy();
});

test('[MQTT-4.6.0-5] [MQTT-4.6.0-6] 3.1.1: topics are ordered: a subscriber gets one client’s messages in publish order, per QoS', async () => {
  const sub = await connected('o-order-s');
  await subscribe(sub, 1, [['order/#', 2]]);
  const pub = await connected('o-order-p');
  const n = 60;
  const chunks: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const qos = i % 3;
    chunks.push(
      packet(
        0x30 | (qos << 1),
        str(`order/q${qos}`),
        qos > 0 ? u16(i + 1) : Buffer.alloc(0),
        Buffer.from(`${i}`),
      ),
    );
  }
  pub.send(Buffer.concat(chunks));
  const got: Array<{ qos: number; i: number }> = [];
  while (got.length < n) {
    const p = await sub.next(3000);
    if (p.type !== 3) continue;
    got.push({ qos: p.qos, i: Number(p.payload.toString()) });
    if (p.qos === 1) sub.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
    if (p.qos === 2) sub.send({ type: 5, packetId: p.packetId, reasonCode: 0 });
  }
  for (const qos of [0, 1, 2]) {
    const seq = got.filter((g) => g.qos === qos).map((g) => g.i);
    assert.deepEqual(
      seq,
      [...seq].sort((x, y) => x - y),
      `QoS ${qos} out of order: ${seq}`,
    );
    assert.equal(seq.length, n / 3);
  }
  sub.destroy();
  pub.destroy();
});

test('[MQTT-4.7.3-2] 3.1.1: U+0000 in a SUBSCRIBE topic filter closes the connection', async () => {
  const c = await connected('o-nul');
  c.send(packet(0x82, u16(1), str([0x61, 0x00]), [0]));
  assert.equal(await c.waitClosed(), true);
  assert.equal(c.received.length, 1, 'no SUBACK after the CONNACK');
});

test('[MQTT-4.7.3-4] 3.1.1: matching applies no normalization (case, empty levels, Unicode forms)', async () => {
  const nfc = 'norm/caf\u00e9';
  const sub = await connected('o-norm-s');
  await subscribe(sub, 1, [
    ['norm/a/b', 0],
    [nfc, 0],
  ]);
  const pub = await connected('o-norm-p');
  for (const t of ['norm/A/b', 'norm/a//b', 'norm/a/b/', 'norm//a/b', 'norm/cafe\u0301', nfc, 'norm/a/b']) {
    pub.send(publishPacket(t, t, 0));
  }
  const got = (await sub.collect(250, 2)).map((p) => (p.type === 3 ? p.topic : '?'));
  assert.deepEqual(got, [nfc, 'norm/a/b']);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-4.6.0-1] 3.1.1: on reconnect unacknowledged QoS 1 and 2 messages are re-sent in their original order', async () => {
  const c = await connected('o-resend', false);
  await subscribe(c, 1, [['resend/#', 2]]);
  const pub = await connected('o-resend-p');
  for (let i = 0; i < 8; i++)
    pub.send(publishPacket(`resend/q${1 + (i % 2)}`, `${i}`, (1 + (i % 2)) as 1 | 2, i + 1));
  const first = (await c.collect(300, 8)).flatMap((p) =>
    p.type === 3 ? [[p.packetId, p.payload.toString()]] : [],
  );
  assert.equal(first.length, 8);
  c.destroy();
  await c.closed;
  const back = await RawClient.connect(b.port, { clientId: 'o-resend', clean: false });
  const again = (await back.client.collect(300, 8)).flatMap((p) =>
    p.type === 3 ? [[p.packetId, p.payload.toString(), p.dup]] : [],
  );
  assert.deepEqual(
    again,
    first.map(([id, payload]) => [id, payload, true]),
  );
  back.client.destroy();
  pub.destroy();
});

test('[MQTT-7.0.0-2] 3.1.1: a stock client using no extension connects, subscribes, publishes and receives', async () => {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`, {
    protocolVersion: 4,
    clientId: 'o-stock',
    reconnectPeriod: 0,
  });
  try {
    await client.subscribeAsync('stock/t', { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await client.publishAsync('stock/t', 'plain', { qos: 1 });
    assert.equal(await got, 'plain');
  } finally {
    await client.endAsync();
  }
});

test('[MQTT-4.8.0-2] 3.1.1: a packet the server cannot hold (over max_packet_size) closes that connection only', async () => {
  await withBroker({ options: { maxPacketSize: 1024 } }, async (tb) => {
    const other = (await RawClient.connect(tb.port, { clientId: 'o-tr-other' })).client;
    await subscribe(other, 1, [['tr/#', 0]]);
    const big = (await RawClient.connect(tb.port, { clientId: 'o-tr-big' })).client;
    big.send(publishPacket('tr/big', Buffer.alloc(2000, 1), 0));
    assert.equal(await big.waitClosed(), true);
    const pub = (await RawClient.connect(tb.port, { clientId: 'o-tr-p' })).client;
    pub.send(publishPacket('tr/small', 'ok', 0));
    assert.deepEqual(payloads(await other.collect(200, 1)), ['ok']);
    assert.equal(other.isClosed, false);
    other.destroy();
    pub.destroy();
  });
});

test('[MQTT-7.1.1-1] 3.1.1: over TCP a large message and a long sequence arrive whole and in order', async () => {
  const sub = await connected('o-stream-s');
  await subscribe(sub, 1, [['stream/#', 0]]);
  const pub = await connected('o-stream-p');
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  pub.send(publishPacket('stream/big', big, 0));
  for (let i = 0; i < 200; i++) pub.send(publishPacket('stream/seq', `${i}`, 0));
  const first = await sub.nextOfType(3, 5000);
  assert.ok(first.payload.equals(big));
  const seq = payloads(await sub.collect(500, 200));
  assert.deepEqual(
    seq,
    Array.from({ length: 200 }, (_, i) => `${i}`),
  );
  sub.destroy();
  pub.destroy();
});
