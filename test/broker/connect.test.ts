// CONNECT / CONNACK over real sockets: every return code, identifiers, takeover, Session Present, MQTT 3.1.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker, withBroker } from '../helpers/broker.js';
import { connectPacket, publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

test('[MQTT-3.1.2-2] unsupported protocol level gets CONNACK 1 and the connection is closed', async () => {
  await withBroker({}, async ({ port }) => {
    const c = await RawClient.open(port);
    // CONNECT "MQTT" level 9, clean, keepalive 60, client id "x".
    c.send([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 9, 0x02, 0, 60, 0, 1, 0x78]);
    const ack = await c.next();
    assert.equal(ack.type, 2);
    assert.equal(ack.type === 2 && ack.reasonCode, 1);
    assert.ok(await c.waitClosed());
  });
});

test('[MQTT-3.1.3-8] empty client id with clean session 0 is rejected with CONNACK 2', async () => {
  await withBroker({}, async ({ port }) => {
    const { client, connack } = await RawClient.connect(port, { clientId: '', clean: false });
    assert.equal(connack.reasonCode, 2);
    assert.equal(connack.sessionPresent, false);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-3.1.3-6] empty client id with clean session 1 is accepted and given an identifier', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const { client, connack } = await RawClient.connect(port, { clientId: '', clean: true });
    assert.equal(connack.reasonCode, 0);
    const ids = broker.sessions.list().items.map((s) => s.clientId);
    assert.equal(ids.length, 1);
    assert.match(ids[0]!, /^auto-[0-9A-F-]{36}$/);
    client.disconnect();
  });
});

test('allow_zero_length_clientid false refuses an empty id with CONNACK 2', async () => {
  await withBroker({ options: { allowZeroLengthClientId: false } }, async ({ port }) => {
    const { client, connack } = await RawClient.connect(port, { clientId: '', clean: true });
    assert.equal(connack.reasonCode, 2);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-3.1.3-5] MQTT 3.1 (MQIsdp, level 3) client connects; empty id and ids over 23 chars are refused', async () => {
  await withBroker({}, async ({ port }) => {
    const ok = await RawClient.connect(port, { version: 3, clientId: 'v31-client' });
    assert.equal(ok.connack.reasonCode, 0);
    await subscribe(ok.client, 1, [['v31/t', 1]]);
    ok.client.send(publishPacket('v31/t', 'hi', 1, 7));
    const got = await ok.client.collect(300, 2);
    const pub = got.find((p) => p.type === 3);
    assert.ok(pub !== undefined && pub.type === 3 && pub.payload.toString() === 'hi');
    assert.ok(got.some((p) => p.type === 4 && p.packetId === 7));
    ok.client.disconnect();

    const empty = await RawClient.connect(port, { version: 3, clientId: '' });
    assert.equal(empty.connack.reasonCode, 2);
    const long = await RawClient.connect(port, { version: 3, clientId: 'x'.repeat(24) });
    assert.equal(long.connack.reasonCode, 2);
  });
});

test('clientid_prefixes: an identifier without the prefix gets CONNACK 5', async () => {
  await withBroker({ options: { clientIdPrefixes: 'good-' } }, async ({ port }) => {
    const bad = await RawClient.connect(port, { clientId: 'bad-1' });
    assert.equal(bad.connack.reasonCode, 5);
    assert.ok(await bad.client.waitClosed());
    const good = await RawClient.connect(port, { clientId: 'good-1' });
    assert.equal(good.connack.reasonCode, 0);
    good.client.disconnect();
  });
});

test('authenticate hook: bad credentials CONNACK 4, anonymous refused CONNACK 5, good ones accepted (sync and async)', async () => {
  const hooks = {
    authenticate: (r: { username: string | undefined; password: Buffer | undefined }) =>
      r.username === 'slow'
        ? Promise.resolve(r.password?.toString() === 'pw')
        : r.username === 'u' && r.password?.toString() === 'pw',
  };
  await withBroker({ options: { allowAnonymous: false }, hooks }, async ({ port }) => {
    const wrong = await RawClient.connect(port, { clientId: 'a', username: 'u', password: 'nope' });
    // Mosquitto answers a bad password with 5 (not authorized), as it does anonymous clients.
    assert.equal(wrong.connack.reasonCode, 5);
    assert.ok(await wrong.client.waitClosed());
    const anon = await RawClient.connect(port, { clientId: 'b' });
    assert.equal(anon.connack.reasonCode, 5);
    assert.ok(await anon.client.waitClosed());
    const good = await RawClient.connect(port, { clientId: 'c', username: 'u', password: 'pw' });
    assert.equal(good.connack.reasonCode, 0);
    good.client.disconnect();
    // An async hook: packets sent right behind CONNECT are held until it decides, then processed.
    const slow = await RawClient.open(port);
    slow.send(Buffer.concat([]));
    slow.send(connectPacket({ clientId: 'd', username: 'slow', password: 'pw' }));
    slow.send({ type: 12 });
    const first = await slow.next();
    assert.equal(first.type === 2 && first.reasonCode, 0);
    assert.equal((await slow.next()).type, 13);
    slow.disconnect();
  });
});

test('[MQTT-3.1.0-2] a second CONNECT is a protocol violation: the connection is closed', async () => {
  await withBroker({}, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'twice' });
    client.send(connectPacket({ clientId: 'twice' }));
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-3.1.0-1] first packet must be CONNECT: anything else closes the connection without a reply', async () => {
  await withBroker({}, async ({ port }) => {
    const c = await RawClient.open(port);
    c.send([0xc0, 0x00]); // PINGREQ
    assert.ok(await c.waitClosed());
    assert.equal(c.received.length, 0);
  });
});

test('[MQTT-3.1.4-2] [MQTT-3.1.4-3] a second client with the same id takes the session over and the first is closed', async () => {
  await withBroker({}, async ({ port }) => {
    const first = await RawClient.connect(port, { clientId: 'dup', clean: false });
    await subscribe(first.client, 1, [['take/over', 1]]);
    const second = await RawClient.connect(port, { clientId: 'dup', clean: false });
    assert.ok(await first.client.waitClosed());
    assert.equal(second.connack.reasonCode, 0);
    assert.equal(second.connack.sessionPresent, true);
    // The subscription moved with the session.
    const pub = await RawClient.connect(port, { clientId: 'pub' });
    pub.client.send(publishPacket('take/over', 'x', 0));
    const got = await second.client.next();
    assert.equal(got.type === 3 && got.topic, 'take/over');
    second.client.disconnect();
    pub.client.disconnect();
  });
});

test('[MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] Session Present reflects a stored session', async () => {
  await withBroker({}, async ({ port }) => {
    const a = await RawClient.connect(port, { clientId: 'sp', clean: true });
    assert.equal(a.connack.sessionPresent, false); // [MQTT-3.2.2-1]
    a.client.disconnect();
    await a.client.closed;
    const b = await RawClient.connect(port, { clientId: 'sp', clean: false });
    assert.equal(b.connack.sessionPresent, false); // [MQTT-3.2.2-3] no stored session yet
    await subscribe(b.client, 1, [['sp/t', 1]]);
    b.client.disconnect();
    await b.client.closed;
    const c = await RawClient.connect(port, { clientId: 'sp', clean: false });
    assert.equal(c.connack.sessionPresent, true); // [MQTT-3.2.2-2]
    c.client.disconnect();
    await c.client.closed;
    const d = await RawClient.connect(port, { clientId: 'sp', clean: true });
    assert.equal(d.connack.sessionPresent, false); // [MQTT-3.2.2-1] clean session discards it
    d.client.disconnect();
  });
});

test('[MQTT-3.1.2-6] clean session 1 leaves no session behind after disconnect', async () => {
  const b = await startBroker();
  try {
    const a = await RawClient.connect(b.port, { clientId: 'gone', clean: true });
    a.client.disconnect();
    await a.client.closed;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(b.broker.sessions.has('gone'), false);
  } finally {
    await b.stop();
  }
});

test('max_keepalive: a 3.1.1 keepalive above it gets CONNACK 2, but only after id prefix and credential checks', async () => {
  const hooks = { authenticate: (r: { password: Buffer | undefined }) => r.password?.toString() === 'pw' };
  await withBroker({ options: { maxKeepalive: 30, clientIdPrefixes: 'ok-' }, hooks }, async ({ port }) => {
    const tooLong = await RawClient.connect(port, { clientId: 'ok-1', keepAlive: 31 });
    assert.equal(tooLong.connack.reasonCode, 2);
    const zero = await RawClient.connect(port, { clientId: 'ok-2', keepAlive: 0 });
    assert.equal(zero.connack.reasonCode, 0);
    zero.client.disconnect();
    const prefix = await RawClient.connect(port, { clientId: 'bad', keepAlive: 60 });
    assert.equal(prefix.connack.reasonCode, 5);
    const creds = await RawClient.connect(port, {
      clientId: 'ok-3',
      keepAlive: 60,
      username: 'u',
      password: 'no',
    });
    assert.equal(creds.connack.reasonCode, 5);
  });
});
