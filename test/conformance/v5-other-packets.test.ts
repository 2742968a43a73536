// MQTT 5.0 conformance, sections 3.6-3.15 (PUBREL, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT, AUTH), on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { connect5, publish5, subscribe5 } from '../mqtt5/helpers.js';
import { BAD_UTF8, connect5raw, packet, str, u16 } from './bytes.js';
import { rejected, topics } from './v5-util.js';

let b: TestBroker;
before(async () => {
  b = await startBroker({
    hooks: { authorize: (_c, access, topic) => !(access === 'subscribe' && topic.startsWith('secret/')) },
  });
});
after(() => b.stop());

async function connected(clientId: string): Promise<RawClient> {
  const { client, connack } = await connect5(b.port, { clientId });
  assert.equal(connack.reasonCode, 0);
  return client;
}

test('[MQTT-3.6.2-1] 5.0: the server PUBREL uses a PUBREL reason code (0x00 here)', async () => {
  const sub = await connected('o5-rel-s');
  await subscribe5(sub, 1, 'rel5/t', { qos: 2 });
  const pub = await connected('o5-rel-p');
  pub.send(publish5('rel5/t', 'x', 2, 1));
  const msg = await sub.nextOfType(3);
  sub.send({ type: 5, packetId: msg.packetId, reasonCode: 0 });
  const raw = await sub.nextRaw();
  assert.ok(raw !== null);
  assert.equal(raw[0], 0x62);
  // Either the short form (reason 0x00 implied) or an explicit 0x00 / 0x92.
  assert.ok(raw.length === 4 || [0x00, 0x92].includes(raw[4] ?? -1), raw.toString('hex'));
  assert.equal(raw.readUInt16BE(2), msg.packetId);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-3.8.3-1] 5.0: a SUBSCRIBE filter that is not valid UTF-8 is a Malformed Packet', async () => {
  const c = await connected('o5-sutf');
  await rejected(c, packet(0x82, u16(1), [0], str(BAD_UTF8), [0]), [0x81]);
});

test('[MQTT-3.8.3-2] 5.0: a SUBSCRIBE without any filter is refused', async () => {
  const c = await connected('o5-snone');
  await rejected(c, packet(0x82, u16(1), [0]));
});

test('[MQTT-3.8.4-2] [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.8.4-7] 5.0: one SUBACK with the SUBSCRIBE id and one granted-QoS / failure code per filter', async () => {
  const c = await connected('o5-sack');
  c.send(
    packet(
      0x82,
      u16(0x4242),
      [0],
      str('sack/a'),
      [2],
      str('sack/b'),
      [0],
      str('secret/x'),
      [1],
      str('sack/c'),
      [1],
    ),
  );
  const acks = await c.collect(200, 1);
  assert.equal(acks.length, 1);
  const ack = acks[0];
  assert.ok(ack?.type === 9);
  assert.equal(ack.packetId, 0x4242);
  assert.equal(ack.reasonCodes.length, 4);
  assert.deepEqual([ack.reasonCodes[0], ack.reasonCodes[1], ack.reasonCodes[3]], [2, 0, 1]);
  assert.ok((ack.reasonCodes[2] ?? 0) >= 0x80, 'the refused filter fails');
  c.destroy();
});

test('[MQTT-3.8.4-3] 5.0: an identical filter replaces the subscription (new QoS), one copy per message', async () => {
  const c = await connected('o5-repl');
  await subscribe5(c, 1, 'repl5/t', { qos: 0 });
  await subscribe5(c, 2, 'repl5/t', { qos: 2 });
  const pub = await connected('o5-repl-p');
  pub.send(publish5('repl5/t', 'x', 2, 1));
  const got = (await c.collect(250, 1)).filter((p) => p.type === 3);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.type === 3 && got[0].qos, 2);
  c.destroy();
  pub.destroy();
});

test('[MQTT-3.8.4-8] 5.0: delivered QoS is the minimum of the published QoS and the granted QoS', async () => {
  const sub = await connected('o5-min');
  await subscribe5(sub, 1, 'min5/q1', { qos: 1 });
  await subscribe5(sub, 2, 'min5/q2', { qos: 2 });
  const pub = await connected('o5-min-p');
  pub.send(publish5('min5/q1', 'a', 2, 1));
  pub.send(publish5('min5/q2', 'b', 1, 2));
  pub.send(publish5('min5/q2', 'c', 0));
  const got = (await sub.collect(250, 3)).flatMap((p) => (p.type === 3 ? [[p.topic, p.qos]] : []));
  assert.deepEqual(got, [
    ['min5/q1', 1],
    ['min5/q2', 1],
    ['min5/q2', 0],
  ]);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-3.10.3-1] 5.0: an UNSUBSCRIBE filter that is not valid UTF-8 is a Malformed Packet', async () => {
  const c = await connected('o5-uutf');
  await rejected(c, packet(0xa2, u16(1), [0], str(BAD_UTF8)), [0x81]);
});

test('[MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-6] 5.0: UNSUBSCRIBE removes byte-identical filters only, one UNSUBACK, delivery stops', async () => {
  const c = await connected('o5-unsub');
  await subscribe5(c, 1, 'un5/+');
  await subscribe5(c, 2, 'un5/b');
  c.send(packet(0xa2, u16(3), [0], str('un5/#'), str('un5/b'), str('un5/a')));
  const acks = await c.collect(200, 1);
  assert.equal(acks.length, 1);
  // un5/# and un5/a were never subscribed: 0x11; un5/b was: 0x00.
  assert.deepEqual(acks[0], { type: 11, packetId: 3, reasonCodes: [0x11, 0x00, 0x11] });
  const pub = await connected('o5-unsub-p');
  pub.send(publish5('un5/b', 'b'));
  pub.send(publish5('un5/c', 'c'));
  // un5/+ still matches both; un5/b no longer adds a second (overlapping) route.
  assert.deepEqual(topics(await c.collect(200, 2)), ['un5/b', 'un5/c']);
  c.send(packet(0xa2, u16(4), [0], str('un5/+')));
  await c.nextOfType(11);
  pub.send(publish5('un5/b', 'b2'));
  assert.deepEqual(await c.collect(200), []);
  c.destroy();
  pub.destroy();
});

test('[MQTT-3.10.4-3] 5.0: a QoS 1 delivery started before UNSUBSCRIBE is completed', async () => {
  const c = await connected('o5-unin');
  await subscribe5(c, 1, 'unin5/t', { qos: 1 });
  const pub = await connected('o5-unin-p');
  pub.send(publish5('unin5/t', 'x', 1, 1));
  const msg = await c.nextOfType(3);
  c.send(packet(0xa2, u16(2), [0], str('unin5/t')));
  await c.nextOfType(11);
  c.send({ type: 4, packetId: msg.packetId, reasonCode: 0 });
  assert.deepEqual(await c.collect(200), []);
  assert.equal(c.isClosed, false);
  c.destroy();
  pub.destroy();
});

test('[MQTT-3.12.4-1] 5.0: PINGREQ is answered with PINGRESP', async () => {
  const c = await connected('o5-ping');
  c.send([0xc0, 0]);
  assert.deepEqual(await c.nextRaw(), Buffer.from([0xd0, 0]));
  c.destroy();
});

test('[MQTT-3.14.0-1] 5.0: a malformed CONNECT gets no DISCONNECT (nothing before a CONNACK)', async () => {
  const c = await RawClient.open(b.port);
  c.version = 5;
  c.send(connect5raw(0x03, str('o5-nodisc')));
  assert.equal(await c.waitClosed(), true);
  for (const raw of c.received) assert.notEqual(raw[0], 0xe0, 'no DISCONNECT before CONNACK');
});

test('[MQTT-3.14.1-1] 5.0: DISCONNECT with reserved flags set is a Malformed Packet: closed and the will published', async () => {
  const sub = await connected('o5-bye-s');
  await subscribe5(sub, 1, 'bye5/will');
  const { client } = await connect5(b.port, {
    clientId: 'o5-bye',
    will: { topic: 'bye5/will', payload: Buffer.from('w'), qos: 0, retain: false },
  });
  await rejected(client, [0xe1, 0x00], [0x81]);
  assert.equal((await sub.nextOfType(3)).payload.toString(), 'w');
  sub.destroy();
});

test('[MQTT-3.14.4-1] [MQTT-3.14.4-2] 5.0: after its DISCONNECT the server sends nothing more and closes', async () => {
  const c = await connected('o5-after');
  // A Protocol Error (Topic Alias 0), followed by packets that would each get an answer.
  const alias0 = packet(0x30, str('after/t'), [3, 0x23, 0, 0], Buffer.from('x'));
  c.send(
    Buffer.concat([
      alias0,
      Buffer.from([0xc0, 0]),
      packet(0x32, str('after/t'), u16(1), [0], Buffer.from('y')),
    ]),
  );
  const got = await c.collect(1000);
  assert.equal(await c.waitClosed(), true);
  assert.equal(got.length, 1, `only the DISCONNECT: ${got.map((p) => p.type)}`);
  assert.equal(got[0]?.type, 14);
});

test('[MQTT-3.15.1-1] 5.0: AUTH with reserved flags set is a Malformed Packet', async () => {
  const c = await connected('o5-auth');
  await rejected(c, [0xf1, 0x00], [0x81, 0x82]);
});
