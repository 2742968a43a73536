// Outages: the remote broker is killed (SIGKILL) and started again on the same port; QoS 1 messages published
// on Culex meanwhile queue in the bridge's local session and arrive once the bridge has reconnected. A link
// that cannot connect logs its failure once, not at every attempt.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker } from '../../src/index.js';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { type BrokerProcess, startFromConf, tempDir, writeConf } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { bridgesUp, collector, culexWithBridges, publish, receivedCount } from './bridge-helpers.js';

const skip = requireTool('mosquitto');

async function killed(p: BrokerProcess): Promise<void> {
  p.signal('SIGKILL');
  await waitFor(() => p.exitStatus() !== null, 3000);
}

test('QoS 1 messages published while the remote Mosquitto is down arrive after it restarts', {
  skip,
}, async () => {
  const port = await freePort();
  const conf = writeConf(tempDir(), port, ['allow_anonymous true']);
  let remote = await startFromConf('mosquitto', conf, port);
  const lines: string[] = [];
  const local = await culexWithBridges(
    [
      'connection outage',
      `address 127.0.0.1:${port}`,
      'restart_timeout 1',
      'cleansession false',
      'topic q/# out 1',
    ],
    {
      logger: { enabled: () => true, log: (level, line) => level !== 'debug' && lines.push(line) },
    },
  );
  try {
    await bridgesUp(local.bridges);
    await killed(remote);
    await waitFor(() => local.bridges.list()[0]?.stats.state !== 'up', 3000);
    for (let i = 0; i < 20; i++) await publish(local.port, `q/${i}`, String(i), 1);
    assert.ok((local.bridges.list()[0]?.stats.queued ?? 0) > 0, 'messages queue in the local session');
    // Several failed attempts while the remote stays down (restart_timeout 1).
    await sleep(2500);
    const refusals = lines.filter((l) => l.includes('Error creating bridge outage'));
    assert.equal(refusals.length, 1, `one line for the refused connection class: ${lines.join('\n')}`);
    remote = await startFromConf('mosquitto', conf, port);
    const far = await collector(port, ['q/#'], 1);
    const got = await receivedCount(far, 20, 8000);
    assert.deepEqual(
      got.map((m) => m.payload).sort((x, y) => Number(x) - Number(y)),
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
    assert.equal(local.bridges.list()[0]?.stats.connects, 2);
    await far.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('a Culex remote restarted on the same port: messages both ways resume', async () => {
  const port = await freePort();
  const open = async (): Promise<Broker> => {
    const b = new Broker({ options: { connectionMessages: false } });
    await b.listen([{ port, host: '127.0.0.1' }]);
    return b;
  };
  let remote = await open();
  const local = await culexWithBridges([
    'connection c',
    `address 127.0.0.1:${port}`,
    'restart_timeout 1',
    'topic x/# both 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    await remote.stop();
    await waitFor(() => local.bridges.list()[0]?.stats.state !== 'up', 3000);
    await publish(local.port, 'x/during', 'queued', 1);
    remote = await open();
    const far = await collector(port, ['x/#'], 1);
    const [m] = await receivedCount(far, 1, 5000);
    assert.equal(m?.payload, 'queued');
    await bridgesUp(local.bridges);
    const near = await collector(local.port, ['x/#'], 1);
    await publish(port, 'x/back', 'in', 1);
    const [n] = await receivedCount(near, 1);
    assert.equal(n?.payload, 'in');
    await far.end();
    await near.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('a bridge whose remote is unreachable queues up to max_queued_messages and counts the rest', async () => {
  const port = await freePort();
  const local = await culexWithBridges(
    ['connection down', `address 127.0.0.1:${port}`, 'restart_timeout 1', 'topic d/# out 1'],
    { options: { maxQueuedMessages: 5 } },
  );
  try {
    await sleep(100);
    for (let i = 0; i < 8; i++) await publish(local.port, `d/${i}`, String(i), 1);
    const stats = local.bridges.list()[0]?.stats;
    assert.deepEqual([stats?.state === 'up', stats?.queued, stats?.dropped], [false, 5, 3]);
  } finally {
    await local.stop();
  }
});
