// MQTT 5.0 conformance, sections 3.1 (CONNECT) and 3.2 (CONNACK), checked on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { connect5, publish5, subscribe5, v5ConnectPacket } from '../mqtt5/helpers.js';
import { BAD_UTF8, connect5raw, packet, str } from './bytes.js';
import { payloads } from './v5-util.js';

let b: TestBroker;
before(async () => {
  b = await startBroker({ hooks: { authenticate: (r) => r.password?.toString() === 'good' } });
});
after(() => b.stop());

const KEEP = { sessionExpiryInterval: 60 };

async function connected(clientId: string, clean = true, properties = {}): Promise<RawClient> {
  const { client, connack } = await connect5(b.port, { clientId, clean, properties });
  assert.equal(connack.reasonCode, 0);
  return client;
}

async function open(): Promise<RawClient> {
  const c = await RawClient.open(b.port);
  c.version = 5;
  return c;
}

/** Raw CONNECT bytes the broker must refuse: closed, and nothing but possibly a CONNACK >= 0x80 comes back. */
async function refusedConnect(bytes: Buffer): Promise<void> {
  const c = await open();
  c.send(bytes);
  assert.equal(await c.waitClosed(2000), true, 'connection should be closed');
  for (const raw of c.received)
    assert.ok(raw[0] === 0x20 && (raw[3] ?? 0) >= 0x80, `unexpected ${raw.toString('hex')}`);
}

function drop(c: RawClient): Promise<void> {
  c.destroy();
  return c.closed;
}

test('[MQTT-3.1.2-4] [MQTT-3.2.2-2] 5.0: Clean Start 1 discards an existing session and CONNACK says Session Present 0', async () => {
  const s = await connected('c5-clean', false, KEEP);
  await subscribe5(s, 1, 'clean5/t');
  s.disconnect();
  await s.closed;
  const again = await connect5(b.port, { clientId: 'c5-clean', clean: true, properties: KEEP });
  assert.equal(again.connack.sessionPresent, false);
  const pub = await connected('c5-clean-p');
  pub.send(publish5('clean5/t', 'x'));
  assert.deepEqual(await again.client.collect(200), [], 'the old subscription must be gone');
  again.client.destroy();
  pub.destroy();
});

test('[MQTT-3.1.2-6] 5.0: Clean Start 0 without a session creates one (Session Present 0, then kept)', async () => {
  const first = await connect5(b.port, { clientId: 'c5-new', clean: false, properties: KEEP });
  assert.equal(first.connack.sessionPresent, false);
  await subscribe5(first.client, 1, 'new5/t', { qos: 1 });
  first.client.disconnect();
  await first.client.closed;
  const again = await connect5(b.port, { clientId: 'c5-new', clean: false, properties: KEEP });
  assert.equal(again.connack.sessionPresent, true);
  again.client.destroy();
});

test('[MQTT-3.1.2-7] [MQTT-3.1.2-10] [MQTT-3.1.2-14] 5.0: the will is stored, published once non-retained when the connection drops', async () => {
  const sub = await connected('c5-will-s');
  await subscribe5(sub, 1, 'will5/t');
  const { client } = await connect5(b.port, {
    clientId: 'c5-will',
    properties: KEEP,
    will: { topic: 'will5/t', payload: Buffer.from('bye'), qos: 0, retain: false },
  });
  await drop(client);
  const got = await sub.collect(300, 1);
  assert.deepEqual(payloads(got), ['bye']);
  assert.equal(got[0]?.type === 3 && got[0].retain, false);
  // Resuming and dropping again publishes nothing: the will was removed once published.
  const again = await connect5(b.port, { clientId: 'c5-will', clean: false, properties: KEEP });
  await drop(again.client);
  assert.deepEqual(await sub.collect(300), []);
  const late = await connected('c5-will-l');
  await subscribe5(late, 1, 'will5/t');
  assert.deepEqual(await late.collect(150), [], 'a non-retained will is not stored');
  sub.destroy();
  late.destroy();
});

test('[MQTT-3.1.2-15] 5.0: a will with Will Retain 1 is published retained', async () => {
  const { client } = await connect5(b.port, {
    clientId: 'c5-wret',
    will: { topic: 'wret5/t', payload: Buffer.from('kept'), qos: 1, retain: true },
  });
  await drop(client);
  const late = await connected('c5-wret-l');
  await subscribe5(late, 1, 'wret5/t', { qos: 1 });
  const got = await late.collect(300, 1);
  assert.deepEqual(payloads(got), ['kept']);
  assert.equal(got[0]?.type === 3 && got[0].retain, true);
  late.destroy();
});

test('[MQTT-3.1.2-9] 5.0: Will Flag 1 without will properties, topic and payload: refused and closed', async () => {
  await refusedConnect(connect5raw(0x06, str('c5-nowill')));
});

test('[MQTT-3.1.2-16] [MQTT-3.1.2-18] 5.0: fields the flags do not announce (user name, password) make the CONNECT malformed', async () => {
  await refusedConnect(connect5raw(0x02, str('c5-extra'), str('user')));
  await refusedConnect(connect5raw(0x82, str('c5-extra2'), str('user'), str('pw')));
});

test('[MQTT-3.1.2-17] [MQTT-3.1.2-19] 5.0: User Name / Password Flag 1 without the field: refused and closed', async () => {
  await refusedConnect(connect5raw(0x82, str('c5-nouser')));
  await refusedConnect(connect5raw(0xc2, str('c5-nopass'), str('user')));
});

test('[MQTT-3.1.3-5] 5.0: a 23-character alphanumeric client id is accepted', async () => {
  const id = 'aZ0123456789abcdefghijk';
  assert.equal(id.length, 23);
  const { client, connack } = await connect5(b.port, { clientId: id });
  assert.equal(connack.reasonCode, 0);
  assert.equal(connack.properties?.assignedClientIdentifier, undefined);
  client.destroy();
});

test('[MQTT-3.1.3-6] 5.0: every empty client id is assigned a different identifier', async () => {
  const a = await connect5(b.port, { clientId: '' });
  const c = await connect5(b.port, { clientId: '' });
  const idA = a.connack.properties?.assignedClientIdentifier;
  const idC = c.connack.properties?.assignedClientIdentifier;
  assert.ok(typeof idA === 'string' && idA.length > 0);
  assert.ok(typeof idC === 'string' && idC.length > 0);
  assert.notEqual(idA, idC);
  assert.equal(a.client.isClosed, false, 'the first client was not taken over');
  a.client.destroy();
  c.client.destroy();
});

test('[MQTT-3.1.3-8] 5.0: a refused client id gets CONNACK 0x85 and the connection closes', async () => {
  await withBroker({ options: { allowZeroLengthClientId: false } }, async (tb) => {
    const { client, connack } = await connect5(tb.port, { clientId: '' });
    assert.equal(connack.reasonCode, 0x85);
    assert.equal(connack.sessionPresent, false);
    assert.equal(await client.waitClosed(), true);
  });
});

test('[MQTT-3.1.3-10] 5.0: will User Properties are published in their order', async () => {
  const sub = await connected('c5-wup-s');
  await subscribe5(sub, 1, 'wup5/t');
  const userProperties: Array<[string, string]> = [
    ['z', '1'],
    ['a', '2'],
    ['z', '0'],
  ];
  const { client } = await connect5(b.port, {
    clientId: 'c5-wup',
    will: {
      topic: 'wup5/t',
      payload: Buffer.from('w'),
      qos: 0,
      retain: false,
      properties: { userProperties },
    },
  });
  await drop(client);
  const p = await sub.nextOfType(3);
  assert.deepEqual(p.properties?.userProperties, userProperties);
  sub.destroy();
});

test('[MQTT-3.1.3-11] [MQTT-3.1.3-12] 5.0: a will topic or user name that is not valid UTF-8: refused and closed', async () => {
  await refusedConnect(connect5raw(0x06, str('c5-wutf'), Buffer.from([0]), str(BAD_UTF8), str('m')));
  await refusedConnect(connect5raw(0x82, str('c5-uutf'), str(BAD_UTF8)));
});

test('[MQTT-3.1.4-1] 5.0: a CONNECT with the reserved flag set is refused and closed', async () => {
  await refusedConnect(connect5raw(0x03, str('c5-reserved')));
});

test('[MQTT-3.1.4-2] [MQTT-3.2.2-6] [MQTT-3.2.2-7] 5.0: failed authentication: CONNACK 0x87 (as Mosquitto) with Session Present 0, then closed', async () => {
  const s = await connect5(b.port, { clientId: 'c5-auth', clean: false, properties: KEEP, username: 'u' });
  assert.equal(s.connack.reasonCode, 0x87, 'no password at all is refused too');
  const c = await open();
  const good = v5ConnectPacket({ clientId: 'c5-auth', clean: false, properties: KEEP, username: 'u' });
  good.password = Buffer.from('good');
  c.send(good);
  assert.equal((await c.next()).type, 2);
  c.disconnect();
  await c.closed;
  const bad = await open();
  const p = v5ConnectPacket({ clientId: 'c5-auth', clean: false, username: 'u' });
  p.password = Buffer.from('bad');
  bad.send(p);
  const ack = await bad.next();
  assert.deepEqual(ack.type === 2 && [ack.reasonCode, ack.sessionPresent], [0x87, false]);
  assert.equal(await bad.waitClosed(), true);
});

test('[MQTT-3.1.4-4] [MQTT-3.1.4-5] [MQTT-3.2.2-8] 5.0: an accepted CONNECT gets CONNACK 0x00; refusals use CONNACK codes', async () => {
  const c = await open();
  c.send(v5ConnectPacket({ clientId: 'c5-ok' }));
  const raw = await c.nextRaw();
  assert.ok(raw !== null);
  assert.deepEqual([raw[0], raw[2], raw[3]], [0x20, 0, 0]);
  c.destroy();
  const connackCodes = new Set([
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a,
    0x9b, 0x9c, 0x9d, 0x9f,
  ]);
  for (const bytes of [
    connect5raw(0x02, str('')), // fine: assigned id
    connect5raw(0xc2, str('c5-pw'), str('u'), str('bad')),
  ]) {
    const r = await open();
    r.send(bytes);
    const ack = await r.next();
    assert.equal(ack.type, 2);
    if (ack.type === 2)
      assert.ok(ack.reasonCode === 0 || connackCodes.has(ack.reasonCode), `0x${ack.reasonCode.toString(16)}`);
    r.destroy();
  }
});

test('[MQTT-3.1.4-6] 5.0: after a refused CONNECT nothing else from the client is processed', async () => {
  const watcher = await connected('c5-ref-w');
  await subscribe5(watcher, 1, 'ref5/#');
  const c = await open();
  c.send(
    Buffer.concat([
      connect5raw(0xc2, str('c5-ref'), str('u'), str('bad')),
      packet(0x31, str('ref5/t'), [0], Buffer.from('no')),
    ]),
  );
  const ack = await c.next();
  assert.equal(ack.type === 2 && ack.reasonCode, 0x87);
  assert.equal(await c.waitClosed(), true);
  assert.deepEqual(await watcher.collect(150), []);
  const late = await connected('c5-ref-l');
  await subscribe5(late, 1, 'ref5/#');
  assert.deepEqual(await late.collect(150), [], 'the retained PUBLISH was not stored');
  watcher.destroy();
  late.destroy();
});

test('[MQTT-3.2.0-1] [MQTT-3.2.0-2] 5.0: CONNACK comes first, before queued messages, and only once', async () => {
  const s = await connected('c5-first', false, KEEP);
  await subscribe5(s, 1, 'first5/t', { qos: 1 });
  s.disconnect();
  await s.closed;
  const pub = await connected('c5-first-p');
  for (let i = 0; i < 3; i++) pub.send(publish5('first5/t', `m${i}`, 1, i + 1));
  await pub.collect(200, 3);
  const c = await open();
  c.send(v5ConnectPacket({ clientId: 'c5-first', clean: false, properties: KEEP }));
  const got = await c.collect(300, 4);
  assert.equal(got[0]?.type, 2);
  assert.equal(got.filter((p) => p.type === 3).length, 3);
  // A second CONNECT is a Protocol Error: no second CONNACK.
  c.send(v5ConnectPacket({ clientId: 'c5-first', clean: false }));
  const after = await c.collect(500);
  assert.ok(
    after.every((p) => p.type !== 2),
    'no second CONNACK',
  );
  assert.equal(await c.waitClosed(), true);
  pub.destroy();
});
