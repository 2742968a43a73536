// MQTT 5 sessions and wills: Session Expiry (0, N, never, changed on DISCONNECT), Will Delay Interval,
// a will cancelled by a resumed session, will properties, DISCONNECT 0x04, takeover 0x8E.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Will } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import { connect5, nextPublish, subscribe5 } from './helpers.js';

function will(topic: string, payload: string, properties?: Will['properties']): Will {
  const w: Will = { topic, payload: Buffer.from(payload), qos: 0, retain: false };
  if (properties !== undefined) w.properties = properties;
  return w;
}

test('[MQTT-3.1.2-23] Session Expiry 0 ends the session at disconnection; N keeps it; [MQTT-4.1.0-2] it expires after N', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const zero = await connect5(port, { clientId: 'se0' });
    zero.client.disconnect();
    const keep = await connect5(port, { clientId: 'se1', properties: { sessionExpiryInterval: 1 } });
    await subscribe5(keep.client, 1, 'se/#');
    keep.client.disconnect();
    const never = await connect5(port, {
      clientId: 'seF',
      properties: { sessionExpiryInterval: 0xffffffff },
    });
    never.client.disconnect();
    await sleep(100);
    assert.equal(broker.sessions.has('se0'), false);
    assert.equal(broker.sessions.has('se1'), true);
    await sleep(2200);
    assert.equal(broker.sessions.has('se1'), false);
    assert.equal(broker.sessions.has('seF'), true);
  });
});

test('[MQTT-3.1.2-5] [MQTT-3.2.2-3] Clean Start 0 resumes the session with Session Present 1', async () => {
  await withBroker({}, async ({ port }) => {
    const a = await connect5(port, { clientId: 'res', properties: { sessionExpiryInterval: 60 } });
    await subscribe5(a.client, 1, 'res/t', { qos: 1 });
    a.client.disconnect();
    await sleep(50);
    const b = await connect5(port, {
      clientId: 'res',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal(b.connack.sessionPresent, true);
    b.client.destroy();
  });
});

test('Session Expiry on DISCONNECT replaces the CONNECT value; 0 to non-zero is a Protocol Error (3.14.2.2.2)', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const a = await connect5(port, { clientId: 'sed', properties: { sessionExpiryInterval: 1 } });
    a.client.send({ type: 14, reasonCode: 0, properties: { sessionExpiryInterval: 3600 } });
    await sleep(1500);
    assert.equal(broker.sessions.get('sed')?.expiryInterval, 3600);
    // Zero on CONNECT cannot become non-zero on DISCONNECT: Protocol Error.
    const b = await connect5(port, { clientId: 'sed0' });
    b.client.send({ type: 14, reasonCode: 0, properties: { sessionExpiryInterval: 10 } });
    const d = await b.client.nextOfType(14);
    assert.equal(d.reasonCode, 0x82);
  });
});

test('[MQTT-3.1.2-8] the will waits for its Will Delay Interval, with its properties', async () => {
  await withBroker({}, async ({ port }) => {
    const watcher = await connect5(port, { clientId: 'wd-watch' });
    await subscribe5(watcher.client, 1, 'wd/#');
    const props = {
      willDelayInterval: 1,
      contentType: 'text/plain',
      userProperties: [['why', 'gone']] as [string, string][],
      messageExpiryInterval: 50,
    };
    const c = await connect5(port, {
      clientId: 'wd',
      properties: { sessionExpiryInterval: 10 },
      will: will('wd/status', 'offline', props),
    });
    const lost = Date.now();
    c.client.destroy();
    assert.equal((await watcher.client.collect(500)).filter((p) => p.type === 3).length, 0);
    const w = await nextPublish(watcher.client, 3000);
    assert.ok(Date.now() - lost >= 900, 'published after the delay');
    assert.equal(w.topic, 'wd/status');
    assert.equal(w.payload.toString(), 'offline');
    assert.equal(w.properties?.contentType, 'text/plain');
    assert.deepEqual(w.properties?.userProperties, [['why', 'gone']]);
    assert.equal(w.properties?.willDelayInterval, undefined);
    const left = w.properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left <= 50 && left >= 44);
    watcher.client.destroy();
  });
});

test('[MQTT-3.1.3-9] a will is not sent when the session resumes before the delay', async () => {
  await withBroker({}, async ({ port }) => {
    const watcher = await connect5(port, { clientId: 'wc-watch' });
    await subscribe5(watcher.client, 1, 'wc/#');
    const c = await connect5(port, {
      clientId: 'wc',
      properties: { sessionExpiryInterval: 10 },
      will: will('wc/status', 'x', { willDelayInterval: 1 }),
    });
    c.client.destroy();
    await sleep(200);
    const back = await connect5(port, {
      clientId: 'wc',
      clean: false,
      properties: { sessionExpiryInterval: 10 },
    });
    assert.equal(back.connack.sessionPresent, true);
    assert.equal((await watcher.client.collect(1500)).filter((p) => p.type === 3).length, 0);
    back.client.destroy();
    watcher.client.destroy();
  });
});

test('[MQTT-3.1.2-8] the will goes out when the session ends before the delay (session expiry shorter)', async () => {
  await withBroker({}, async ({ port }) => {
    const watcher = await connect5(port, { clientId: 'we-watch' });
    await subscribe5(watcher.client, 1, 'we/#');
    // Session expiry 0: the session ends with the connection, so the will cannot wait 60 s.
    const c = await connect5(port, {
      clientId: 'we',
      will: will('we/status', 'bye', { willDelayInterval: 60 }),
    });
    c.client.destroy();
    const w = await nextPublish(watcher.client, 1000);
    assert.equal(w.payload.toString(), 'bye');
    watcher.client.destroy();
  });
});

test('[MQTT-3.14.4-3] DISCONNECT 0x00 discards the will; 0x04 publishes it', async () => {
  await withBroker({}, async ({ port }) => {
    const watcher = await connect5(port, { clientId: 'wx-watch' });
    await subscribe5(watcher.client, 1, 'wx/#');
    const normal = await connect5(port, { clientId: 'wx0', will: will('wx/a', 'normal') });
    normal.client.send({ type: 14, reasonCode: 0 });
    const withWill = await connect5(port, { clientId: 'wx4', will: will('wx/b', 'with-will') });
    withWill.client.send({ type: 14, reasonCode: 0x04 });
    const got = await nextPublish(watcher.client);
    assert.equal(got.payload.toString(), 'with-will');
    assert.equal((await watcher.client.collect(300)).filter((p) => p.type === 3).length, 0);
    watcher.client.destroy();
  });
});

test('[MQTT-3.1.4-3] a second connection with the same client id: the first gets DISCONNECT 0x8E', async () => {
  await withBroker({}, async ({ port }) => {
    const first = await connect5(port, { clientId: 'dup' });
    const second = await connect5(port, { clientId: 'dup' });
    assert.equal(second.connack.reasonCode, 0);
    const d = await first.client.nextOfType(14);
    assert.equal(d.reasonCode, 0x8e);
    assert.ok(await first.client.waitClosed());
    second.client.destroy();
  });
});
