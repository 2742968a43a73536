// MQTT 3.1.1 conformance, sections 3.8-3.14 (SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT), checked on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { BAD_UTF8, packet, str, u16 } from './bytes.js';

let b: TestBroker;
before(async () => {
  b = await startBroker({
    hooks: { authorize: (_c, access, topic) => !(access === 'subscribe' && topic.startsWith('secret/')) },
  });
});
after(() => b.stop());

async function connected(clientId: string, clean = true): Promise<RawClient> {
  const { client, connack } = await RawClient.connect(b.port, { clientId, clean });
  assert.equal(connack.reasonCode, 0);
  return client;
}

function topics(ps: ReadonlyArray<{ type: number }>): string[] {
  return ps.flatMap((p) => ('topic' in p && typeof p.topic === 'string' ? [p.topic] : []));
}

test('[MQTT-3.8.3-1] 3.1.1: a SUBSCRIBE topic filter that is not valid UTF-8 closes the connection', async () => {
  const c = await connected('s-utf');
  c.send(packet(0x82, u16(1), str(BAD_UTF8), [0]));
  assert.equal(await c.waitClosed(), true);
  assert.equal(c.received.length, 1, 'no SUBACK after the CONNACK');
});

test('[MQTT-3.8.4-2] 3.1.1: the SUBACK carries the identifier of its SUBSCRIBE, also when several are pipelined', async () => {
  const c = await connected('s-ids');
  c.send(Buffer.concat([packet(0x82, u16(300), str('ids/a'), [0]), packet(0x82, u16(7), str('ids/b'), [1])]));
  const acks = await c.collect(250, 2);
  assert.deepEqual(
    acks.map((p) => (p.type === 9 ? p.packetId : -1)),
    [300, 7],
  );
  c.destroy();
});

test('[MQTT-3.8.4-4] 3.1.1: a multi-filter SUBSCRIBE acts as one SUBSCRIBE per filter with a single SUBACK', async () => {
  const c = await connected('s-multi');
  c.send(packet(0x82, u16(5), str('multi/a'), [0], str('multi/b'), [2], str('multi/a'), [1]));
  const acks = await c.collect(200, 1);
  assert.equal(acks.length, 1);
  assert.deepEqual(acks[0]?.type === 9 && acks[0].reasonCodes, [0, 2, 1]);
  const pub = await connected('s-multi-p');
  pub.send(publishPacket('multi/a', 'a', 2, 1));
  pub.send(publishPacket('multi/b', 'b', 2, 2));
  const got = (await c.collect(300, 2)).filter((p) => p.type === 3);
  // The later entry for multi/a replaced the earlier one: delivered once, at QoS 1.
  assert.deepEqual(
    got.map((p) => (p.type === 3 ? [p.topic, p.qos] : [])),
    [
      ['multi/a', 1],
      ['multi/b', 2],
    ],
  );
  c.destroy();
  pub.destroy();
});

test('[MQTT-3.9.3-2] 3.1.1: SUBACK codes are only 0x00, 0x01, 0x02 or 0x80', async () => {
  const c = await connected('s-codes');
  const codes = await subscribe(c, 1, [
    ['codes/a', 0],
    ['codes/b', 1],
    ['codes/c', 2],
    ['secret/x', 1],
  ]);
  assert.deepEqual(codes, [0, 1, 2, 0x80]);
  c.destroy();
});

test('[MQTT-3.10.3-1] 3.1.1: an UNSUBSCRIBE topic filter that is not valid UTF-8 closes the connection', async () => {
  const c = await connected('u-utf');
  c.send(packet(0xa2, u16(1), str(BAD_UTF8)));
  assert.equal(await c.waitClosed(), true);
  assert.equal(c.received.length, 1, 'no UNSUBACK after the CONNACK');
});

test('[MQTT-3.10.4-1] [MQTT-3.10.4-2] 3.1.1: UNSUBSCRIBE removes only the byte-identical filter, and delivery on it stops', async () => {
  const c = await connected('u-exact');
  await subscribe(c, 1, [
    ['exact/+', 0],
    ['Exact/a', 0],
  ]);
  // Neither "exact/#" nor "exact/a" equals "exact/+": nothing is removed by them.
  c.send({ type: 10, packetId: 2, topicFilters: ['exact/#', 'exact/a', 'exact/+/'] });
  await c.nextOfType(11);
  const pub = await connected('u-exact-p');
  pub.send(publishPacket('exact/a', '1', 0));
  assert.deepEqual(topics(await c.collect(200, 1)), ['exact/a']);
  c.send({ type: 10, packetId: 3, topicFilters: ['exact/+'] });
  await c.nextOfType(11);
  pub.send(publishPacket('exact/a', '2', 0));
  pub.send(publishPacket('Exact/a', '3', 0));
  assert.deepEqual(topics(await c.collect(200, 1)), ['Exact/a']);
  c.destroy();
  pub.destroy();
});

test('[MQTT-3.10.4-3] 3.1.1: a QoS 2 delivery started before UNSUBSCRIBE is still completed', async () => {
  const c = await connected('u-inflight');
  await subscribe(c, 1, [['inflight/t', 2]]);
  const pub = await connected('u-inflight-p');
  pub.send(publishPacket('inflight/t', 'x', 2, 1));
  const msg = await c.nextOfType(3);
  c.send({ type: 10, packetId: 9, topicFilters: ['inflight/t'] });
  const unsuback = await c.nextOfType(11);
  assert.equal(unsuback.packetId, 9);
  c.send({ type: 5, packetId: msg.packetId, reasonCode: 0 });
  const rel = await c.next();
  assert.deepEqual([rel.type, 'packetId' in rel && rel.packetId], [6, msg.packetId]);
  c.send({ type: 7, packetId: msg.packetId, reasonCode: 0 });
  assert.deepEqual(await c.collect(150), []);
  assert.equal(c.isClosed, false);
  c.destroy();
  pub.destroy();
});

test('[MQTT-3.10.4-6] 3.1.1: a multi-filter UNSUBSCRIBE removes every filter and is answered by one UNSUBACK', async () => {
  const c = await connected('u-multi');
  await subscribe(c, 1, [
    ['um/a', 0],
    ['um/b', 0],
    ['um/c', 0],
  ]);
  c.send(packet(0xa2, u16(44), str('um/a'), str('um/b'), str('none')));
  const acks = await c.collect(200, 1);
  assert.deepEqual(acks, [{ type: 11, packetId: 44, reasonCodes: [] }]);
  const pub = await connected('u-multi-p');
  for (const t of ['um/a', 'um/b', 'um/c']) pub.send(publishPacket(t, t, 0));
  assert.deepEqual(topics(await c.collect(200, 1)), ['um/c']);
  c.destroy();
  pub.destroy();
});

test('[MQTT-3.12.4-1] 3.1.1: PINGREQ is answered with PINGRESP', async () => {
  const c = await connected('ping');
  c.send([0xc0, 0x00]);
  assert.deepEqual(await c.nextRaw(), Buffer.from([0xd0, 0x00]));
  c.send([0xc0, 0x00, 0xc0, 0x00]);
  assert.deepEqual(
    Buffer.concat([(await c.nextRaw())!, (await c.nextRaw())!]),
    Buffer.from([0xd0, 0, 0xd0, 0]),
  );
  c.destroy();
});

test('[MQTT-3.14.1-1] 3.1.1: a DISCONNECT with reserved bits set is a violation: the connection closes and the will is published', async () => {
  const sub = await connected('d-bad-s');
  await subscribe(sub, 1, [['badbye/will', 0]]);
  const { client } = await RawClient.connect(b.port, {
    clientId: 'd-bad',
    will: { topic: 'badbye/will', payload: 'w' },
  });
  client.send([0xe1, 0x00]);
  assert.equal(await client.waitClosed(), true);
  const will = await sub.nextOfType(3);
  assert.equal(will.payload.toString(), 'w');
  sub.destroy();
});
