// MQTT 3.1.1 conformance, section 3.3 (PUBLISH), checked on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { BAD_UTF8, packet, str } from './bytes.js';

let b: TestBroker;
before(async () => {
  b = await startBroker({
    hooks: {
      // Publishing under deny/ is refused by the ACL.
      authorize: (_client, access, topic) => !(access === 'write' && topic.startsWith('deny/')),
    },
  });
});
after(() => b.stop());

async function connected(clientId: string): Promise<RawClient> {
  const { client, connack } = await RawClient.connect(b.port, { clientId });
  assert.equal(connack.reasonCode, 0);
  return client;
}

function payloads(ps: ReadonlyArray<{ type: number }>): string[] {
  return ps.flatMap((p) => ('payload' in p && Buffer.isBuffer(p.payload) ? [p.payload.toString()] : []));
}

test('[MQTT-3.3.1-6] 3.1.1: a new subscription receives the last retained message of every matching topic', async () => {
  const pub = await connected('p-r6');
  pub.send(publishPacket('r6/a', 'a-old', 0, 0, { retain: true }));
  pub.send(publishPacket('r6/a', 'a-new', 0, 0, { retain: true }));
  pub.send(publishPacket('r6/b', 'b', 1, 1, { retain: true }));
  pub.send(publishPacket('r6/c/deep', 'deep', 0, 0, { retain: true }));
  await pub.nextOfType(4);
  const sub = await connected('p-r6-s');
  await subscribe(sub, 1, [['r6/+', 1]]);
  const got = await sub.collect(250, 2);
  assert.deepEqual(payloads(got).sort(), ['a-new', 'b']);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-3.3.1-12] 3.1.1: a PUBLISH with RETAIN 0 neither stores, replaces nor removes the retained message', async () => {
  const pub = await connected('p-r12');
  pub.send(publishPacket('r12/t', 'kept', 1, 1, { retain: true }));
  await pub.nextOfType(4);
  pub.send(publishPacket('r12/t', 'live', 1, 2));
  pub.send(publishPacket('r12/t', '', 1, 3)); // empty payload without RETAIN: no deletion either
  pub.send(publishPacket('r12/u', 'never-stored', 1, 4));
  for (let i = 0; i < 3; i++) await pub.nextOfType(4);
  const sub = await connected('p-r12-s');
  await subscribe(sub, 1, [['r12/#', 0]]);
  const got = await sub.collect(250, 1);
  assert.deepEqual(payloads(got), ['kept']);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-3.3.2-1] 3.1.1: a PUBLISH whose topic name is not valid UTF-8 closes the connection', async () => {
  const c = await connected('p-utf');
  c.send(packet(0x30, str(BAD_UTF8), Buffer.from('x')));
  assert.equal(await c.waitClosed(), true);
  assert.equal(c.received.length, 1, 'only the CONNACK was sent');
});

test('[MQTT-3.3.2-3] 3.1.1: a subscriber on a wildcard filter receives the topic name, which matches its filter', async () => {
  const sub = await connected('p-name-s');
  await subscribe(sub, 1, [['name/+/x/#', 0]]);
  const pub = await connected('p-name-p');
  pub.send(publishPacket('name/a/y', 'no', 0));
  pub.send(publishPacket('name/a/x/b/c', 'yes', 0));
  pub.send(publishPacket('name/a/x', 'yes-parent', 0));
  const got = await sub.collect(250, 2);
  assert.deepEqual(
    got.map((p) => (p.type === 3 ? p.topic : '?')),
    ['name/a/x/b/c', 'name/a/x'],
  );
  sub.destroy();
  pub.destroy();
});

test('[MQTT-3.3.4-1] 3.1.1: the server answers QoS 0 with nothing, QoS 1 with PUBACK, QoS 2 with PUBREC', async () => {
  const c = await connected('p-resp');
  c.send(publishPacket('resp/t', '0', 0));
  c.send(publishPacket('resp/t', '1', 1, 11));
  c.send(publishPacket('resp/t', '2', 2, 22));
  const got = await c.collect(250, 2);
  assert.deepEqual(
    got.map((p) => [p.type, 'packetId' in p ? p.packetId : 0]),
    [
      [4, 11],
      [5, 22],
    ],
  );
  c.destroy();
});

test('[MQTT-3.3.5-2] 3.1.1: an unauthorized PUBLISH is acknowledged by the QoS rules but not delivered', async () => {
  const sub = await connected('p-acl-s');
  await subscribe(sub, 1, [['deny/#', 2]]);
  const c = await connected('p-acl');
  c.send(publishPacket('deny/t', 'x', 1, 7));
  const ack = await c.next();
  assert.deepEqual([ack.type, ack.type === 4 && ack.packetId], [4, 7]);
  c.send(publishPacket('deny/t', 'y', 2, 8));
  const rec = await c.next();
  assert.deepEqual([rec.type, rec.type === 5 && rec.packetId], [5, 8]);
  c.send({ type: 6, packetId: 8, reasonCode: 0 });
  const comp = await c.next();
  assert.deepEqual([comp.type, comp.type === 7 && comp.packetId], [7, 8]);
  assert.equal(c.isClosed, false);
  assert.deepEqual(await sub.collect(200), []);
  sub.destroy();
  c.destroy();
});
