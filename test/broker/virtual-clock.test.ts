// The broker's one clock (src/broker/clock.ts): will delay, session expiry and keepalive driven by virtual
// time, with no sleeps. Without the injected clock the broker would wait for real seconds and these fail.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../../src/broker/clock.js';
import { startBroker } from '../helpers/broker.js';
import { RawClient, subscribe } from '../helpers/raw-client.js';

/** Polls until `cond` holds: socket events take real time, the broker's timeouts must not (2 s at most). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

test('[MQTT-3.1.3-9] 5.0 the Will Delay Interval runs on the broker clock', async () => {
  const clock = new VirtualClock(1_000_000);
  const b = await startBroker({ clock });
  try {
    const { client: watcher } = await RawClient.connect(b.port, { clientId: 'watcher' });
    await subscribe(watcher, 1, [['will/#', 0]]);
    const { client: dying } = await RawClient.connect(b.port, {
      clientId: 'dying',
      version: 5,
      properties: { sessionExpiryInterval: 120 },
      will: { topic: 'will/dying', payload: 'gone', properties: { willDelayInterval: 30 } },
    });
    dying.socket.destroy();
    await until(() => b.broker.internals.sessions.get('dying')?.connection === null, 'the disconnection');
    clock.advance(29_000);
    await assert.rejects(watcher.nextRaw(50), /no packet/, 'no will before its delay');
    clock.advance(2_000);
    const will = await watcher.nextOfType(3);
    assert.equal(will.topic, 'will/dying');
    assert.equal(will.payload.toString(), 'gone');
    watcher.socket.destroy();
  } finally {
    await b.stop();
  }
});

test('[MQTT-3.1.2-23] 5.0 a disconnected session expires after its Session Expiry Interval of broker time', async () => {
  const clock = new VirtualClock(5_000_000);
  const b = await startBroker({ clock });
  try {
    const { client } = await RawClient.connect(b.port, {
      clientId: 'expiring',
      version: 5,
      clean: false,
      properties: { sessionExpiryInterval: 10 },
    });
    client.socket.destroy();
    await until(() => b.broker.internals.sessions.get('expiring')?.connection === null, 'the disconnection');
    clock.advance(9_000);
    assert.ok(b.broker.sessions.has('expiring'), 'kept within its expiry interval');
    clock.advance(2_000);
    assert.equal(b.broker.sessions.has('expiring'), false, 'removed once the interval ran out');
    assert.equal(b.broker.stats.sessionsExpired, 1);
  } finally {
    await b.stop();
  }
});

test('[MQTT-3.1.2-24] keepalive: silent for 1.5 x Keep Alive of broker time ends the connection', async () => {
  const clock = new VirtualClock(9_000_000);
  const b = await startBroker({ clock });
  try {
    const { client } = await RawClient.connect(b.port, { clientId: 'quiet', keepAlive: 10 });
    clock.advance(14_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(client.isClosed, false, 'alive within 1.5 x keepalive');
    clock.advance(2_000);
    await until(() => client.isClosed, 'the keepalive timeout');
    assert.equal(b.broker.sessions.has('quiet'), false);
  } finally {
    await b.stop();
  }
});
