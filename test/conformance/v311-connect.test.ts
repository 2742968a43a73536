// MQTT 3.1.1 conformance, sections 3.1 (CONNECT) and 3.2 (CONNACK), checked on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker, withBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { BAD_UTF8, connect311, packet, str } from './bytes.js';

let b: TestBroker;
before(async () => {
  b = await startBroker({
    hooks: {
      authenticate: (r) => r.password?.toString() === 'good',
    },
  });
});
after(() => b.stop());

async function connected(clientId: string, clean = true): Promise<RawClient> {
  const { client, connack } = await RawClient.connect(b.port, { clientId, clean });
  assert.equal(connack.reasonCode, 0);
  return client;
}

/** Opens a socket, sends raw CONNECT bytes, and checks the broker closes it without sending anything. */
async function refusedWithoutConnack(bytes: Buffer): Promise<void> {
  const c = await RawClient.open(b.port);
  c.send(bytes);
  assert.equal(await c.waitClosed(2000), true, 'connection should be closed');
  assert.equal(c.received.length, 0, `no CONNACK expected, got ${Buffer.concat(c.received).toString('hex')}`);
}

test('[MQTT-3.1.2-4] 3.1.1: Clean Session 0 resumes the stored session: its subscriptions still deliver', async () => {
  const s = await connected('c-resume', false);
  await subscribe(s, 1, [['resume/t', 1]]);
  s.disconnect();
  await s.closed;
  const again = await RawClient.connect(b.port, { clientId: 'c-resume', clean: false });
  assert.equal(again.connack.sessionPresent, true);
  const pub = await connected('c-resume-p');
  pub.send(publishPacket('resume/t', 'hello', 0));
  const p = await again.client.nextOfType(3);
  assert.equal(p.topic, 'resume/t');
  again.client.destroy();
  pub.destroy();
});

test('[MQTT-3.1.2-7] 3.1.1: retained messages survive the end of the session that published them', async () => {
  const pub = await connected('c-keepret');
  pub.send(publishPacket('keepret/t', 'kept', 1, 1, { retain: true }));
  await pub.nextOfType(4);
  pub.disconnect();
  await pub.closed;
  const sub = await connected('c-keepret-s');
  await subscribe(sub, 1, [['keepret/t', 0]]);
  const p = await sub.nextOfType(3);
  assert.equal(p.payload.toString(), 'kept');
  assert.equal(p.retain, true);
  sub.destroy();
});

test('[MQTT-3.1.2-9] 3.1.1: Will Flag 1 without will topic and message in the payload: closed, no CONNACK', async () => {
  // Will flag (0x04) + clean session, payload holds only the client id.
  await refusedWithoutConnack(connect311(0x06, str('c-nowill')));
});

test('[MQTT-3.1.2-12] 3.1.1: with Will Flag 0 nothing is published when the connection drops', async () => {
  const watcher = await connected('c-nowill-w');
  await subscribe(watcher, 1, [['#', 0]]);
  await watcher.collect(150); // retained messages left by other tests
  const c = await connected('c-nowill-d');
  c.destroy();
  await c.closed;
  assert.deepEqual(await watcher.collect(300), []);
  watcher.destroy();
});

test('[MQTT-3.1.2-14] 3.1.1: Will QoS 3 closes the connection without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0x1e, str('c-wq3'), str('w/t'), str('m')));
});

test('[MQTT-3.1.2-15] 3.1.1: Will Retain 1 with Will Flag 0 closes the connection without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0x22, str('c-wr')));
});

test('[MQTT-3.1.2-16] 3.1.1: a will with Will Retain 0 is published non-retained', async () => {
  const sub = await connected('c-w16-s');
  await subscribe(sub, 1, [['w16/t', 0]]);
  const { client } = await RawClient.connect(b.port, {
    clientId: 'c-w16',
    will: { topic: 'w16/t', payload: 'gone', qos: 0, retain: false },
  });
  client.destroy();
  const p = await sub.nextOfType(3);
  assert.equal(p.payload.toString(), 'gone');
  assert.equal(p.retain, false);
  // Not stored either: a later subscriber gets nothing.
  const late = await connected('c-w16-l');
  await subscribe(late, 1, [['w16/t', 0]]);
  assert.deepEqual(await late.collect(200), []);
  sub.destroy();
  late.destroy();
});

test('[MQTT-3.1.2-18] [MQTT-3.1.2-20] 3.1.1: payload fields beyond those the flags announce close the connection', async () => {
  // No user name flag, yet a user name follows the client id.
  await refusedWithoutConnack(connect311(0x02, str('c-extra'), str('user')));
  // User name flag only, yet a password follows the user name.
  await refusedWithoutConnack(connect311(0x82, str('c-extra2'), str('user'), str('pw')));
});

test('[MQTT-3.1.2-19] 3.1.1: User Name Flag 1 without a user name closes the connection without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0x82, str('c-nouser')));
});

test('[MQTT-3.1.2-21] 3.1.1: Password Flag 1 without a password closes the connection without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0xc2, str('c-nopass'), str('user')));
});

test('[MQTT-3.1.3-1] 3.1.1: client id, will topic, will message, user name and password are read in that order', async () => {
  const seen: string[] = [];
  await withBroker(
    {
      hooks: {
        authenticate: (r) => {
          seen.push(`${r.clientId}|${r.username}|${r.password?.toString()}`);
          return true;
        },
      },
    },
    async (tb) => {
      const watcher = (await RawClient.connect(tb.port, { clientId: 'w' })).client;
      await subscribe(watcher, 1, [['order/will', 0]]);
      const c = await RawClient.open(tb.port);
      // user name + password + will (QoS 0) + clean session
      c.send(
        connect311(0xc6, str('c-order'), str('order/will'), str('will-msg'), str('alice'), str('secret')),
      );
      const ack = await c.next();
      assert.equal(ack.type === 2 && ack.reasonCode, 0);
      assert.deepEqual(seen, ['c-order|alice|secret']);
      c.destroy();
      const will = await watcher.nextOfType(3);
      assert.equal(will.topic, 'order/will');
      assert.equal(will.payload.toString(), 'will-msg');
      watcher.destroy();
    },
  );
});

test('[MQTT-3.1.3-2] 3.1.1: the client id selects the session: each id resumes only its own subscriptions', async () => {
  for (const [id, topic] of [
    ['c-idA', 'ida/t'],
    ['c-idB', 'idb/t'],
  ] as const) {
    const c = await connected(id, false);
    await subscribe(c, 1, [[topic, 1]]);
    c.disconnect();
    await c.closed;
  }
  const a = (await RawClient.connect(b.port, { clientId: 'c-idA', clean: false })).client;
  const pub = await connected('c-id-p');
  pub.send(publishPacket('idb/t', 'for-b', 0));
  pub.send(publishPacket('ida/t', 'for-a', 0));
  const got = (await a.collect(250, 1)).filter((p) => p.type === 3);
  assert.deepEqual(
    got.map((p) => (p.type === 3 ? p.payload.toString() : '')),
    ['for-a'],
  );
  a.destroy();
  pub.destroy();
});

test('[MQTT-3.1.3-3] 3.1.1: a CONNECT whose payload lacks the client id closes the connection without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0x02));
});

test('[MQTT-3.1.3-4] 3.1.1: a client id that is not valid UTF-8 closes the connection without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0x02, str(BAD_UTF8)));
});

test('[MQTT-3.1.3-9] 3.1.1: a refused client id gets CONNACK 0x02 and the connection is closed', async () => {
  await withBroker({ options: { allowZeroLengthClientId: false } }, async (tb) => {
    const c = await RawClient.open(tb.port);
    c.send(connect311(0x02, str('')));
    assert.deepEqual(await c.nextRaw(), Buffer.from([0x20, 2, 0, 2]));
    assert.equal(await c.waitClosed(), true);
  });
});

test('[MQTT-3.1.3-10] 3.1.1: a will topic that is not valid UTF-8 closes the connection without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0x06, str('c-wutf'), str(BAD_UTF8), str('m')));
});

test('[MQTT-3.1.3-11] 3.1.1: a user name that is not valid UTF-8 closes the connection without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0x82, str('c-uutf'), str(BAD_UTF8)));
});

test('[MQTT-3.1.4-1] 3.1.1: a CONNECT that does not conform (reserved flag set) is closed without CONNACK', async () => {
  await refusedWithoutConnack(connect311(0x03, str('c-reserved')));
});

test('[MQTT-3.1.4-4] 3.1.1: an accepted CONNECT gets CONNACK with return code 0', async () => {
  const c = await RawClient.open(b.port);
  c.send(connect311(0x02, str('c-ok')));
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x20, 2, 0, 0]));
  c.destroy();
});

test('[MQTT-3.1.4-5] 3.1.1: after a refused CONNECT nothing more from the client is processed', async () => {
  const watcher = await connected('c-refuse-w');
  await subscribe(watcher, 1, [['refused/#', 0]]);
  const c = await RawClient.open(b.port);
  // Bad password, then a retained PUBLISH in the same write.
  c.send(
    Buffer.concat([
      connect311(0xc2, str('c-refuse'), str('u'), str('bad')),
      packet(0x31, str('refused/t'), Buffer.from('nope')),
    ]),
  );
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x20, 2, 0, 5]));
  assert.equal(await c.waitClosed(), true);
  assert.deepEqual(await watcher.collect(150), []);
  watcher.destroy();
  const late = await connected('c-refuse-l');
  await subscribe(late, 1, [['refused/#', 0]]);
  assert.deepEqual(await late.collect(150), [], 'the retained PUBLISH must not have been stored');
  late.destroy();
});

test('[MQTT-3.2.0-1] 3.1.1: CONNACK comes first even when queued messages wait for the session', async () => {
  const s = await connected('c-first', false);
  await subscribe(s, 1, [['first/t', 1]]);
  s.disconnect();
  await s.closed;
  const pub = await connected('c-first-p');
  for (let i = 0; i < 3; i++) pub.send(publishPacket('first/t', `m${i}`, 1, i + 1));
  for (let i = 0; i < 3; i++) await pub.nextOfType(4);
  const c = await RawClient.open(b.port);
  c.send(connect311(0x00, str('c-first')));
  const packets = await c.collect(300, 4);
  assert.equal(packets[0]?.type, 2);
  assert.equal(packets.filter((p) => p.type === 3).length, 3);
  c.destroy();
  pub.destroy();
});

test('[MQTT-3.2.2-4] [MQTT-3.2.2-5] 3.1.1: a refusing CONNACK has Session Present 0 even when a session exists, then the connection closes', async () => {
  const s = await RawClient.connect(b.port, {
    clientId: 'c-sp',
    clean: false,
    username: 'u',
    password: 'good',
  });
  assert.equal(s.connack.reasonCode, 0);
  s.client.disconnect();
  await s.client.closed;
  const c = await RawClient.open(b.port);
  c.send(connect311(0xc0, str('c-sp'), str('u'), str('bad')));
  // Return code 5 (not authorized, what Mosquitto sends for bad credentials), acknowledge flags 0.
  assert.deepEqual(await c.nextRaw(), Buffer.from([0x20, 2, 0, 5]));
  assert.equal(await c.waitClosed(), true);
  // The session itself was not harmed by the refusal.
  const ok = await RawClient.connect(b.port, {
    clientId: 'c-sp',
    clean: false,
    username: 'u',
    password: 'good',
  });
  assert.equal(ok.connack.sessionPresent, true);
  ok.client.destroy();
  await sleep(0);
});
