// The real Mosquitto bridged to Culex with its own `connection` section: Culex takes the try_private CONNECT
// (protocol level 0x84), and, as Mosquitto does for a bridge, never sends the bridge its own messages back and
// keeps the retain flag as published.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/net.js';
import { type BrokerProcess, startMosquitto } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { collector, publish, receivedCount } from './bridge-helpers.js';

const skip = requireTool('mosquitto');
let culex: TestBroker;
let mosq: BrokerProcess;
const bridgeClients: { id: string; bridge: boolean }[] = [];

before(async () => {
  if (skip !== false) return;
  culex = await startBroker();
  culex.broker.on('clientConnected', (conn: { clientId: string; isBridge: boolean }) =>
    bridgeClients.push({ id: conn.clientId, bridge: conn.isBridge }),
  );
  mosq = await startMosquitto([
    'allow_anonymous true',
    'connection toculex',
    `address 127.0.0.1:${culex.port}`,
    'remote_clientid mosq-bridge',
    'restart_timeout 1',
    'topic both/# both 1',
    'topic up/# out 1 m/ c/',
  ]);
  const up = await waitFor(() => bridgeClients.some((c) => c.id === 'mosq-bridge'), 5000);
  assert.ok(up, `mosquitto's bridge never connected: ${mosq.log()}`);
  // Its subscriptions follow the CONNACK.
  await sleep(300);
});

after(async () => {
  await mosq?.stop();
  await culex?.stop();
});

test('a Mosquitto bridge connects with try_private and is seen as a bridge', { skip }, () => {
  assert.deepEqual(
    bridgeClients.find((c) => c.id === 'mosq-bridge'),
    { id: 'mosq-bridge', bridge: true },
  );
});

test('its messages are not sent back to it: a Mosquitto subscriber gets each message once', {
  skip,
}, async () => {
  const far = await collector(mosq.port, ['both/#'], 1);
  const near = await collector(culex.port, ['both/#'], 1);
  await publish(mosq.port, 'both/a', 'from-mosq', 1);
  await receivedCount(near, 1);
  await receivedCount(far, 1);
  await sleep(400);
  assert.deepEqual(
    far.received.map((r) => r.payload),
    ['from-mosq'],
  );
  assert.equal(near.received.length, 1);
  await publish(culex.port, 'both/b', 'from-culex', 1);
  await receivedCount(far, 2);
  await sleep(300);
  assert.equal(near.received.length, 2);
  assert.equal(far.received.length, 2);
  await far.end();
  await near.end();
});

test('remapped out topic: m/up/... on Mosquitto arrives as c/up/... on Culex', { skip }, async () => {
  const near = await collector(culex.port, ['c/up/#'], 1);
  await publish(mosq.port, 'm/up/x', 'moved', 1);
  const [m] = await receivedCount(near, 1);
  assert.deepEqual([m?.topic, m?.payload], ['c/up/x', 'moved']);
  await near.end();
});

test('retain as published: a retained message live on Culex stays retained on Mosquitto', {
  skip,
}, async () => {
  await publish(culex.port, 'both/retained', 'kept', 1, true);
  await sleep(300);
  // Only a message forwarded with its retain flag is in Mosquitto's retained store for a new subscriber.
  const far = await collector(mosq.port, ['both/retained'], 1);
  const [m] = await receivedCount(far, 1);
  assert.deepEqual([m?.payload, m?.retain], ['kept', true]);
  await far.end();
});

test('a Mosquitto MQTT 5 bridge (No Local subscriptions) to Culex: each message once on each side', {
  skip,
}, async () => {
  const m5 = await startMosquitto([
    'allow_anonymous true',
    'connection v5toculex',
    `address 127.0.0.1:${culex.port}`,
    'remote_clientid mosq-v5-bridge',
    'bridge_protocol_version mqttv50',
    'restart_timeout 1',
    'topic five/# both 1',
  ]);
  try {
    assert.ok(await waitFor(() => bridgeClients.some((c) => c.id === 'mosq-v5-bridge'), 5000), m5.log());
    await sleep(300);
    const far = await collector(m5.port, ['five/#'], 1);
    const near = await collector(culex.port, ['five/#'], 1);
    await publish(m5.port, 'five/a', 'from-mosq', 1);
    await publish(culex.port, 'five/b', 'from-culex', 1);
    await receivedCount(far, 2);
    await receivedCount(near, 2);
    await sleep(400);
    assert.deepEqual([far.received.length, near.received.length], [2, 2]);
    await far.end();
    await near.end();
  } finally {
    await m5.stop();
  }
});
