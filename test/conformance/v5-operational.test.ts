// MQTT 5.0 conformance, section 4 (operational behaviour: QoS flows, ordering, topics, errors), on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Properties } from '../../src/protocol/properties.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import type { RawClient } from '../helpers/raw-client.js';
import { connect5, publish5, subscribe5 } from '../mqtt5/helpers.js';
import { packet, str, u16 } from './bytes.js';
import { payloads, rejected, topics } from './v5-util.js';

let b: TestBroker;
before(async () => {
  b = await startBroker();
});
after(() => b.stop());

const KEEP = { sessionExpiryInterval: 60 };

async function connected(clientId: string, clean = true, properties: Properties = {}): Promise<RawClient> {
  const { client, connack } = await connect5(b.port, { clientId, clean, properties });
  assert.equal(connack.reasonCode, 0);
  return client;
}

async function reconnect(clientId: string, properties: Properties = KEEP): Promise<RawClient> {
  const { client, connack } = await connect5(b.port, { clientId, clean: false, properties });
  assert.equal(connack.sessionPresent, true);
  return client;
}

function drop(c: RawClient): Promise<void> {
  c.destroy();
  return c.closed;
}

test('[MQTT-4.1.0-1] 5.0: session state is kept while connected: an unacknowledged message is resent after reconnect', async () => {
  const c = await connected('q5-state', false, KEEP);
  await subscribe5(c, 1, 'state5/t', { qos: 1 });
  const pub = await connected('q5-state-p');
  pub.send(publish5('state5/t', 'x', 1, 1));
  const first = await c.nextOfType(3);
  await sleep(1200); // a sweep passes while connected
  await drop(c);
  const again = await reconnect('q5-state');
  const resent = await again.nextOfType(3);
  assert.deepEqual([resent.packetId, resent.dup, resent.payload.toString()], [first.packetId, true, 'x']);
  again.destroy();
  pub.destroy();
});

test('[MQTT-4.3.2-1] [MQTT-4.3.2-2] [MQTT-4.3.2-3] 5.0: QoS 1 sender: unused ids, DUP 0 first, unacknowledged until PUBACK', async () => {
  const c = await connected('q5-q1', false, KEEP);
  await subscribe5(c, 1, 'q1s/t', { qos: 1 });
  const pub = await connected('q5-q1-p');
  pub.send(publish5('q1s/t', 'a', 1, 1));
  pub.send(publish5('q1s/t', 'b', 1, 2));
  const [a, bb] = (await c.collect(250, 2)).filter((p) => p.type === 3);
  assert.ok(a?.type === 3 && bb?.type === 3);
  assert.deepEqual([a.dup, bb.dup], [false, false]);
  assert.notEqual(a.packetId, bb.packetId);
  c.send({ type: 4, packetId: a.packetId, reasonCode: 0 });
  await sleep(50);
  await drop(c);
  const again = await reconnect('q5-q1');
  const resent = (await again.collect(250, 1)).filter((p) => p.type === 3);
  // Only the unacknowledged one comes back.
  assert.deepEqual(
    resent.map((p) => (p.type === 3 ? [p.packetId, p.dup, p.payload.toString()] : [])),
    [[bb.packetId, true, 'b']],
  );
  again.destroy();
  pub.destroy();
});

test('[MQTT-4.3.2-5] [MQTT-4.3.3-12] 5.0: after PUBACK / PUBCOMP the same identifier is a new publication', async () => {
  const sub = await connected('q5-reuse-s');
  await subscribe5(sub, 1, 'reuse5/t');
  const pub = await connected('q5-reuse-p');
  pub.send(publish5('reuse5/t', 'q1-a', 1, 9));
  await pub.nextOfType(4);
  pub.send(packet(0x3a, str('reuse5/t'), u16(9), [0], Buffer.from('q1-b'))); // DUP set
  await pub.nextOfType(4);
  pub.send(publish5('reuse5/t', 'q2-a', 2, 10));
  await pub.nextOfType(5);
  pub.send(packet(0x62, u16(10)));
  await pub.nextOfType(7);
  pub.send(publish5('reuse5/t', 'q2-b', 2, 10));
  await pub.nextOfType(5);
  assert.deepEqual(payloads(await sub.collect(250, 4)), ['q1-a', 'q1-b', 'q2-a', 'q2-b']);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-4.3.3-1] [MQTT-4.3.3-2] [MQTT-4.3.3-3] 5.0: QoS 2 sender: unused id, DUP 0 first, resent until PUBREC', async () => {
  const c = await connected('q5-q2a', false, KEEP);
  await subscribe5(c, 1, 'q2a/t', { qos: 2 });
  const pub = await connected('q5-q2a-p');
  pub.send(publish5('q2a/t', 'x', 2, 1));
  const first = await c.nextOfType(3);
  assert.equal(first.dup, false);
  assert.ok(first.packetId > 0);
  await drop(c);
  const again = await reconnect('q5-q2a');
  const resent = await again.nextOfType(3);
  assert.deepEqual([resent.packetId, resent.dup, resent.qos], [first.packetId, true, 2]);
  again.destroy();
  pub.destroy();
});

test('[MQTT-4.3.3-4] [MQTT-4.3.3-5] [MQTT-4.3.3-6] 5.0: QoS 2 sender: PUBREL after PUBREC with the same id, kept until PUBCOMP, PUBLISH never resent', async () => {
  const c = await connected('q5-q2b', false, KEEP);
  await subscribe5(c, 1, 'q2b/t', { qos: 2 });
  const pub = await connected('q5-q2b-p');
  pub.send(publish5('q2b/t', 'x', 2, 1));
  const msg = await c.nextOfType(3);
  c.send({ type: 5, packetId: msg.packetId, reasonCode: 0 });
  const rel = await c.next();
  assert.deepEqual([rel.type, 'packetId' in rel && rel.packetId], [6, msg.packetId]);
  await drop(c); // no PUBCOMP
  const again = await reconnect('q5-q2b');
  const got = await again.collect(300, 1);
  assert.deepEqual(
    got.map((p) => [p.type, 'packetId' in p ? p.packetId : 0]),
    [[6, msg.packetId]],
    'only the PUBREL is resent',
  );
  again.send({ type: 7, packetId: msg.packetId, reasonCode: 0 });
  await drop(again);
  const third = await reconnect('q5-q2b');
  assert.deepEqual(await third.collect(250), [], 'after PUBCOMP nothing is left');
  third.destroy();
  pub.destroy();
});

test('[MQTT-4.3.3-7] 5.0: QoS 2 sender: a message already sent is resent even after its expiry', async () => {
  const c = await connected('q5-q2x', false, KEEP);
  await subscribe5(c, 1, 'q2x/t', { qos: 2 });
  const pub = await connected('q5-q2x-p');
  pub.send(publish5('q2x/t', 'x', 2, 1, { messageExpiryInterval: 1 }));
  const first = await c.nextOfType(3);
  await drop(c);
  await sleep(1600);
  const again = await reconnect('q5-q2x');
  const resent = await again.nextOfType(3);
  assert.deepEqual([resent.packetId, resent.dup], [first.packetId, true]);
  again.destroy();
  pub.destroy();
});

test('[MQTT-4.3.3-8] [MQTT-4.3.3-11] [MQTT-4.3.3-13] 5.0: QoS 2 receiver: PUBREC with the id, PUBCOMP for PUBREL, even after the message expired', async () => {
  const c = await connected('q5-q2r');
  c.send(publish5('q2r/t', 'x', 2, 0x0a0b, { messageExpiryInterval: 1 }));
  const rec = await c.next();
  // Nobody subscribes, so the PUBREC may say 0x10 (no matching subscribers): still a success code.
  assert.deepEqual([rec.type, 'packetId' in rec && rec.packetId], [5, 0x0a0b]);
  assert.ok(rec.type === 5 && rec.reasonCode < 0x80);
  await sleep(1300);
  c.send(packet(0x62, u16(0x0a0b)));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x70, 2, 0x0a, 0x0b]));
  c.destroy();
});

test('[MQTT-4.5.0-1] 5.0: an accepted message goes to the session of each matching subscriber, connected or not', async () => {
  const off = await connected('q5-own-off', false, KEEP);
  await subscribe5(off, 1, 'own5/#', { qos: 1 });
  off.disconnect();
  await off.closed;
  const on = await connected('q5-own-on');
  await subscribe5(on, 1, 'own5/+', { qos: 1 });
  const pub = await connected('q5-own-p');
  pub.send(publish5('own5/x', 'm', 1, 1));
  await pub.nextOfType(4);
  assert.deepEqual(payloads(await on.collect(200, 1)), ['m']);
  const back = await reconnect('q5-own-off');
  assert.deepEqual(payloads(await back.collect(200, 1)), ['m']);
  back.destroy();
  on.destroy();
  pub.destroy();
});

test('[MQTT-4.6.0-5] [MQTT-4.6.0-6] 5.0: every topic is ordered: one client’s messages arrive in publish order, per QoS', async () => {
  const sub = await connected('q5-order-s');
  await subscribe5(sub, 1, 'order5/#', { qos: 2 });
  const pub = await connected('q5-order-p');
  const n = 60;
  for (let i = 0; i < n; i++) pub.send(publish5(`order5/q${i % 3}`, `${i}`, (i % 3) as 0 | 1 | 2, i + 1));
  const seen: Array<[number, number]> = [];
  while (seen.length < n) {
    const p = await sub.next(3000);
    if (p.type !== 3) continue;
    seen.push([p.qos, Number(p.payload.toString())]);
    if (p.qos === 1) sub.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
    if (p.qos === 2) sub.send({ type: 5, packetId: p.packetId, reasonCode: 0 });
  }
  for (const qos of [0, 1, 2]) {
    const seq = seen.filter(([q]) => q === qos).map(([, i]) => i);
    assert.equal(seq.length, n / 3);
    assert.deepEqual(
      seq,
      [...seq].sort((x, y) => x - y),
    );
  }
  sub.destroy();
  pub.destroy();
});

test('[MQTT-4.7.0-1] 5.0: a wildcard in a PUBLISH topic name is refused (DISCONNECT 0x90 or malformed)', async () => {
  for (const t of ['w/+', 'w/#']) {
    const c = await connected('q5-wild');
    await rejected(c, packet(0x30, str(t), [0], Buffer.from('x')), [0x81, 0x82, 0x90]);
  }
});

test('[MQTT-4.7.3-2] 5.0: U+0000 in a topic filter is a Malformed Packet', async () => {
  const c = await connected('q5-nul');
  await rejected(c, packet(0x82, u16(1), [0], str([0x61, 0]), [0]), [0x81]);
});

test('[MQTT-4.7.3-4] 5.0: matching applies no normalization (case, empty levels, Unicode forms)', async () => {
  const nfc = 'norm5/caf\u00e9';
  const sub = await connected('q5-norm');
  await subscribe5(sub, 1, 'norm5/a/b');
  await subscribe5(sub, 2, nfc);
  const pub = await connected('q5-norm-p');
  for (const t of ['norm5/A/b', 'norm5/a//b', 'norm5/a/b/', 'norm5/cafe\u0301', nfc, 'norm5/a/b'])
    pub.send(publish5(t, t));
  assert.deepEqual(topics(await sub.collect(250, 2)), [nfc, 'norm5/a/b']);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-4.9.0-1] 5.0: the send quota starts at the client Receive Maximum (non-zero): that many QoS 1 messages, then a wait', async () => {
  const sub = await connected('q5-quota', true, { receiveMaximum: 2 });
  await subscribe5(sub, 1, 'quota5/t', { qos: 1 });
  const pub = await connected('q5-quota-p');
  for (let i = 0; i < 5; i++) pub.send(publish5('quota5/t', `${i}`, 1, i + 1));
  const first = (await sub.collect(300, 2)).filter((p) => p.type === 3);
  assert.equal(first.length, 2);
  const p0 = first[0];
  assert.ok(p0?.type === 3);
  sub.send({ type: 4, packetId: p0.packetId, reasonCode: 0 });
  const next = (await sub.collect(200, 1)).filter((p) => p.type === 3);
  assert.equal(next.length, 1, 'one PUBACK frees exactly one slot');
  sub.destroy();
  pub.destroy();
});

test('[MQTT-4.13.1-1] [MQTT-4.13.2-1] 5.0: a Malformed Packet or Protocol Error closes the connection after DISCONNECT >= 0x80', async () => {
  const bad = [
    packet(0x30, str('e/t'), [5], Buffer.from('x')), // property length beyond the packet
    packet(0x30, str('e/t'), [2, 0x01, 0x05], Buffer.from('x')), // Payload Format Indicator 5
    packet(0x40, u16(1), [0x00, 0x05]), // PUBACK property length 5 with no properties
  ];
  for (const bytes of bad) {
    const c = await connected('q5-err');
    await rejected(c, bytes, [0x81, 0x82]);
  }
});

test('[MQTT-7.1.1-1] 5.0: over TCP a large message and a long sequence arrive whole and in order', async () => {
  const sub = await connected('q5-stream-s');
  await subscribe5(sub, 1, 'stream5/#');
  const pub = await connected('q5-stream-p');
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  pub.send(publish5('stream5/big', big));
  for (let i = 0; i < 200; i++) pub.send(publish5('stream5/seq', `${i}`));
  const first = await sub.nextOfType(3, 5000);
  assert.ok(first.payload.equals(big));
  assert.deepEqual(
    payloads(await sub.collect(500, 200)),
    Array.from({ length: 200 }, (_, i) => `${i}`),
  );
  sub.destroy();
  pub.destroy();
});
