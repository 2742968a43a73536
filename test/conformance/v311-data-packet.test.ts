// MQTT 3.1.1 conformance, sections 1.5 (data representation) and 2 (packet format), checked on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient, subscribe } from '../helpers/raw-client.js';
import { BAD_UTF8, packet, SURROGATE, str, u16 } from './bytes.js';

let b: TestBroker;
before(async () => {
  b = await startBroker();
});
after(() => b.stop());

async function connected(clientId: string): Promise<RawClient> {
  const { client, connack } = await RawClient.connect(b.port, { clientId });
  assert.equal(connack.reasonCode, 0);
  return client;
}

/** Sends bytes on a connected client and checks the broker closes it without answering. */
async function closesSilently(client: RawClient, bytes: Buffer): Promise<void> {
  const before = client.received.length;
  client.send(bytes);
  assert.equal(await client.waitClosed(2000), true, 'connection should be closed');
  assert.equal(client.received.length, before, 'nothing should be sent back');
}

test('[MQTT-1.5.3-1] 3.1.1: ill-formed UTF-8 or a surrogate in a topic name closes the connection', async () => {
  const watcher = await connected('d-utf8-w');
  await subscribe(watcher, 1, [['#', 0]]);
  for (const bad of [BAD_UTF8, SURROGATE]) {
    const c = await connected('d-utf8');
    await closesSilently(c, packet(0x30, str(bad), Buffer.from('x')));
  }
  // Nothing was routed from the bad packets.
  assert.deepEqual(await watcher.collect(150), []);
  watcher.destroy();
});

test('[MQTT-1.5.3-2] 3.1.1: U+0000 in a topic name closes the connection', async () => {
  const c = await connected('d-nul');
  await closesSilently(c, packet(0x30, str([0x61, 0x00, 0x62]), Buffer.from('x')));
});

test('[MQTT-1.5.3-3] 3.1.1: a BOM (EF BB BF) in a topic is kept, not stripped', async () => {
  const bomTopic = Buffer.from([0xef, 0xbb, 0xbf, 0x62, 0x6f, 0x6d]).toString('utf8');
  const sub = await connected('d-bom-s');
  await subscribe(sub, 1, [
    [bomTopic, 0],
    ['bom', 0],
  ]);
  const pub = await connected('d-bom-p');
  pub.send(packet(0x30, str([0xef, 0xbb, 0xbf, 0x62, 0x6f, 0x6d]), Buffer.from('1')));
  const raw = await sub.nextRaw();
  assert.ok(raw !== null);
  // Topic on the wire still starts with the BOM bytes, and the plain "bom" subscription did not match it.
  assert.deepEqual([...raw.subarray(2, 4 + 6)], [0, 6, 0xef, 0xbb, 0xbf, 0x62, 0x6f, 0x6d]);
  assert.deepEqual(await sub.collect(150), []);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-2.2.2-1] [MQTT-2.2.2-2] 3.1.1: reserved fixed-header flags set on PUBACK, PINGREQ or UNSUBSCRIBE close the connection', async () => {
  for (const bytes of [packet(0x42, u16(1)), packet(0xc1), packet(0xa0, u16(1), str('a'))]) {
    const c = await connected('d-flags');
    await closesSilently(c, bytes);
  }
});

test('[MQTT-2.3.1-1] 3.1.1: SUBSCRIBE, UNSUBSCRIBE or QoS 1 PUBLISH with packet identifier 0 closes the connection', async () => {
  const bad = [
    packet(0x82, u16(0), str('a'), [0]),
    packet(0xa2, u16(0), str('a')),
    packet(0x32, str('a'), u16(0), Buffer.from('x')),
  ];
  for (const bytes of bad) {
    const c = await connected('d-pid0');
    await closesSilently(c, bytes);
  }
});

test('[MQTT-2.3.1-4] 3.1.1: the server gives each unacknowledged QoS 1/2 PUBLISH its own non-zero identifier', async () => {
  const sub = await connected('d-ids-s');
  await subscribe(sub, 1, [['ids/#', 2]]);
  const pub = await connected('d-ids-p');
  for (let i = 0; i < 6; i++)
    pub.send(packet(i % 2 === 0 ? 0x32 : 0x34, str('ids/x'), u16(i + 1), Buffer.from(`${i}`)));
  const got = (await sub.collect(300, 6)).filter((p) => p.type === 3);
  assert.equal(got.length, 6);
  const ids = got.map((p) => (p.type === 3 ? p.packetId : -1));
  assert.ok(ids.every((id) => id > 0 && id <= 0xffff));
  assert.equal(new Set(ids).size, ids.length, `identifiers in use must differ: ${ids}`);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-2.3.1-5] 3.1.1: a QoS 0 PUBLISH from the server carries no packet identifier', async () => {
  const sub = await connected('d-q0-s');
  await subscribe(sub, 1, [['q0/t', 2]]);
  const pub = await connected('d-q0-p');
  pub.send(packet(0x30, str('q0/t'), Buffer.from('AB')));
  const raw = await sub.nextRaw();
  // 0x30, length 8, topic "q0/t" (6 bytes), then the payload directly: no identifier bytes in between.
  assert.deepEqual(raw, Buffer.from([0x30, 8, 0, 4, 0x71, 0x30, 0x2f, 0x74, 0x41, 0x42]));
  sub.destroy();
  pub.destroy();
});

test('[MQTT-2.3.1-6] 3.1.1: PUBACK, PUBREC and PUBCOMP echo the identifier of the client PUBLISH / PUBREL', async () => {
  const c = await connected('d-ackid');
  c.send(packet(0x32, str('ack/x'), u16(0x1234), Buffer.from('1')));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x40, 2, 0x12, 0x34]));
  c.send(packet(0x34, str('ack/x'), u16(0xbeef), Buffer.from('2')));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x50, 2, 0xbe, 0xef]));
  c.send(packet(0x62, u16(0xbeef)));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x70, 2, 0xbe, 0xef]));
  c.destroy();
});

test('[MQTT-2.3.1-7] 3.1.1: SUBACK and UNSUBACK carry the SUBSCRIBE / UNSUBSCRIBE identifier', async () => {
  const c = await connected('d-subid');
  c.send(packet(0x82, u16(0xfedc), str('s/id'), [1]));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x90, 3, 0xfe, 0xdc, 1]));
  c.send(packet(0xa2, u16(0x0102), str('s/id')));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0xb0, 2, 0x01, 0x02]));
  c.destroy();
});
