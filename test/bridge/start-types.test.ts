// start_type lazy / once, idle_timeout, the $SYS/broker/connection/NAME/state notifications, and failback from
// a secondary address to the primary one (round_robin false).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker } from '../../src/index.js';
import { startBroker } from '../helpers/broker.js';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { bridgesUp, collector, culexWithBridges, publish, receivedCount } from './bridge-helpers.js';

test('lazy: starts once threshold messages are queued, stops after idle_timeout', async () => {
  const remote = await startBroker();
  const local = await culexWithBridges([
    'connection lazy',
    `address 127.0.0.1:${remote.port}`,
    'start_type lazy',
    'threshold 3',
    'idle_timeout 1',
    'topic z/# out 1',
  ]);
  const state = (): string | undefined => local.bridges.list()[0]?.stats.state;
  try {
    const far = await collector(remote.port, ['z/#'], 1);
    await sleep(200);
    assert.equal(state(), 'idle');
    await publish(local.port, 'z/1', '1', 1);
    await publish(local.port, 'z/2', '2', 1);
    await sleep(1300);
    assert.equal(state(), 'idle', 'two messages stay under the threshold');
    await publish(local.port, 'z/3', '3', 1);
    await receivedCount(far, 3, 4000);
    assert.ok(await waitFor(() => state() === 'idle', 4000), 'stops again after idle_timeout');
    await far.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('once: no reconnection after the link is lost', async () => {
  const remote = await startBroker();
  const local = await culexWithBridges([
    'connection once',
    `address 127.0.0.1:${remote.port}`,
    'start_type once',
    'restart_timeout 1',
    'topic z/# out 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    await remote.stop();
    assert.ok(await waitFor(() => local.bridges.list()[0]?.stats.state === 'stopped', 3000));
    await sleep(1200);
    assert.equal(local.bridges.list()[0]?.stats.state, 'stopped');
  } finally {
    await local.stop();
  }
});

test('notifications: "1" on both sides when up, "0" on both when the bridge stops', async () => {
  const remote = await startBroker();
  const topic = 'bridges/n/state';
  const local = await culexWithBridges([
    'connection n',
    `address 127.0.0.1:${remote.port}`,
    'restart_timeout 1',
    `notification_topic ${topic}`,
    'topic z/# out 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    const near = await collector(local.port, [topic], 1);
    const far = await collector(remote.port, [topic], 1);
    await receivedCount(near, 1);
    await receivedCount(far, 1);
    local.bridges.remove('n');
    await receivedCount(far, 2);
    await receivedCount(near, 2);
    assert.deepEqual(
      [near.received.map((m) => m.payload), far.received.map((m) => m.payload)],
      [
        ['1', '0'],
        ['1', '0'],
      ],
    );
    await near.end();
    await far.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('failback: on a secondary address, the bridge returns to the primary once it answers', async () => {
  const primaryPort = await freePort();
  const secondary = await startBroker();
  const local = await culexWithBridges([
    'connection fb',
    `addresses 127.0.0.1:${primaryPort} 127.0.0.1:${secondary.port}`,
    'restart_timeout 1',
    'topic z/# out 1',
  ]);
  const primary = new Broker({ options: { connectionMessages: false } });
  try {
    await bridgesUp(local.bridges, 5000);
    assert.equal(local.bridges.list()[0]?.stats.address, `127.0.0.1:${secondary.port}`);
    await primary.listen([{ port: primaryPort, host: '127.0.0.1' }]);
    assert.ok(
      await waitFor(
        () =>
          local.bridges.list()[0]?.stats.address === `127.0.0.1:${primaryPort}` &&
          local.bridges.list()[0]?.stats.state === 'up',
        5000,
      ),
      JSON.stringify(local.bridges.list()),
    );
    const far = await collector(primaryPort, ['z/#'], 1);
    await publish(local.port, 'z/p', 'primary', 1);
    await receivedCount(far, 1);
    await far.end();
  } finally {
    await local.stop();
    await primary.stop();
    await secondary.stop();
  }
});

test('notifications_local_only: the remote gets no state message and no will; notifications false: none', async () => {
  const remote = await startBroker();
  const local = await culexWithBridges([
    'connection lo',
    `address 127.0.0.1:${remote.port}`,
    'notifications_local_only true',
    'notification_topic st/lo',
    'topic z/# out 1',
    'connection off',
    `address 127.0.0.1:${remote.port}`,
    'notifications false',
    'notification_topic st/off',
    'topic z/# out 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    const near = await collector(local.port, ['st/#'], 1);
    const far = await collector(remote.port, ['st/#'], 1);
    await sleep(300);
    local.bridges.stopAll();
    await sleep(300);
    assert.deepEqual(
      near.received.map((m) => `${m.topic}=${m.payload}`),
      ['st/lo=1', 'st/lo=0'],
    );
    assert.deepEqual(far.received, []);
    await near.end();
    await far.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});
