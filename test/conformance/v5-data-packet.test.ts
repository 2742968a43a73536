// MQTT 5.0 conformance, sections 1.5 (data representation) and 2 (packet format), checked on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import type { RawClient } from '../helpers/raw-client.js';
import { connect5, publish5, subscribe5 } from '../mqtt5/helpers.js';
import { BAD_UTF8, packet, str, u16 } from './bytes.js';
import { rejected } from './v5-util.js';

let b: TestBroker;
before(async () => {
  b = await startBroker();
});
after(() => b.stop());

async function connected(clientId: string): Promise<RawClient> {
  const { client, connack } = await connect5(b.port, { clientId });
  assert.equal(connack.reasonCode, 0);
  return client;
}

test('[MQTT-1.5.4-3] 5.0: a BOM (EF BB BF) in a topic is kept, not stripped', async () => {
  const bomTopic = Buffer.from([0xef, 0xbb, 0xbf, 0x62]).toString('utf8');
  const sub = await connected('d5-bom-s');
  await subscribe5(sub, 1, bomTopic);
  await subscribe5(sub, 2, 'b');
  const pub = await connected('d5-bom-p');
  pub.send(packet(0x30, str([0xef, 0xbb, 0xbf, 0x62]), [0], Buffer.from('1')));
  const raw = await sub.nextRaw();
  assert.ok(raw !== null);
  assert.deepEqual([...raw.subarray(2, 8)], [0, 4, 0xef, 0xbb, 0xbf, 0x62]);
  assert.deepEqual(await sub.collect(150), []);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-1.5.7-1] 5.0: a User Property whose name or value is not valid UTF-8 is a Malformed Packet', async () => {
  for (const pair of [
    [str(BAD_UTF8), str('v')],
    [str('k'), str(BAD_UTF8)],
  ]) {
    const c = await connected('d5-pair');
    const props = Buffer.concat([Buffer.from([0x26]), ...pair]);
    await rejected(c, packet(0x30, str('pair/t'), [props.length], props, Buffer.from('x')), [0x81]);
  }
});

test('[MQTT-2.2.1-2] 5.0: a QoS 0 PUBLISH from the server carries no packet identifier', async () => {
  const sub = await connected('d5-q0-s');
  await subscribe5(sub, 1, 'q0/t', { qos: 2 });
  const pub = await connected('d5-q0-p');
  pub.send(publish5('q0/t', 'AB', 0));
  // 0x30, length 9: topic (6 bytes), property length 0, payload: no identifier bytes.
  assert.deepEqual(await sub.nextRaw(), Buffer.from([0x30, 9, 0, 4, 0x71, 0x30, 0x2f, 0x74, 0, 0x41, 0x42]));
  sub.destroy();
  pub.destroy();
});

test('[MQTT-2.2.1-4] 5.0: each new QoS 1/2 PUBLISH from the server uses an identifier not in use', async () => {
  const sub = await connected('d5-ids-s');
  await subscribe5(sub, 1, 'ids/#', { qos: 2 });
  const pub = await connected('d5-ids-p');
  for (let i = 0; i < 6; i++) pub.send(publish5('ids/x', `${i}`, i % 2 === 0 ? 1 : 2, i + 1));
  const ids = (await sub.collect(300, 6)).flatMap((p) => (p.type === 3 ? [p.packetId] : []));
  assert.equal(ids.length, 6);
  assert.ok(ids.every((id) => id > 0));
  assert.equal(new Set(ids).size, 6, `identifiers in use must differ: ${ids}`);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-2.2.1-5] 5.0: PUBACK, PUBREC and PUBCOMP carry the identifier of the client PUBLISH / PUBREL', async () => {
  const sub = await connected('d5-ack-s');
  await subscribe5(sub, 1, 'ack/#');
  const c = await connected('d5-ack');
  c.send(publish5('ack/x', '1', 1, 0x1234));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x40, 2, 0x12, 0x34]));
  c.send(publish5('ack/x', '2', 2, 0xbeef));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x50, 2, 0xbe, 0xef]));
  c.send(packet(0x62, u16(0xbeef)));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x70, 2, 0xbe, 0xef]));
  c.destroy();
  sub.destroy();
});

test('[MQTT-2.2.1-6] [MQTT-2.2.2-1] 5.0: SUBACK / UNSUBACK carry the request identifier and a zero Property Length', async () => {
  const c = await connected('d5-subid');
  c.send(packet(0x82, u16(0xfedc), [0], str('s/id'), [1]));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x90, 4, 0xfe, 0xdc, 0, 1]));
  c.send(packet(0xa2, u16(0x0102), [0], str('s/id')));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0xb0, 4, 0x01, 0x02, 0, 0]));
  c.destroy();
});
