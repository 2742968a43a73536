// Culex bridged to the real Mosquitto 2.0: out, in and both directions, QoS 0/1/2, prefixes both ways, and
// no message coming back over a `both` topic.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep } from '../helpers/net.js';
import { type BrokerProcess, startMosquitto } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import {
  type BridgedCulex,
  bridgesUp,
  collector,
  culexWithBridges,
  publish,
  receivedCount,
} from './bridge-helpers.js';

const skip = requireTool('mosquitto');
let remote: BrokerProcess;
let local: BridgedCulex;

before(async () => {
  if (skip !== false) return;
  remote = await startMosquitto(['allow_anonymous true']);
  local = await culexWithBridges([
    'connection tomosq',
    `address 127.0.0.1:${remote.port}`,
    'remote_clientid culex-bridge',
    'restart_timeout 1',
    'topic out/# out 1',
    'topic in/# in 2',
    'topic both/# both 2',
    'topic sensors/# out 1 site/a/ hq/a/',
    'topic cmd/# in 1 site/a/ hq/a/',
    'topic "" out 0 local/single remote/single',
  ]);
  await bridgesUp(local.bridges);
});

after(async () => {
  await local?.stop();
  await remote?.stop();
});

test('out: a message published on Culex reaches a Mosquitto subscriber, QoS capped by the topic', {
  skip,
}, async () => {
  const far = await collector(remote.port, ['out/#'], 2);
  await publish(local.port, 'out/x', 'hello', 2);
  const [m] = await receivedCount(far, 1);
  assert.deepEqual(m, { topic: 'out/x', payload: 'hello', qos: 1, retain: false });
  await far.end();
});

test('in: a message published on Mosquitto reaches a Culex subscriber at QoS 2', { skip }, async () => {
  const near = await collector(local.port, ['in/#'], 2);
  await publish(remote.port, 'in/y', 'q2', 2);
  const [m] = await receivedCount(near, 1);
  assert.deepEqual(m, { topic: 'in/y', payload: 'q2', qos: 2, retain: false });
  // out-only topics are not imported
  await publish(remote.port, 'out/z', 'no', 1);
  await sleep(200);
  assert.equal(near.received.length, 1);
  await near.end();
});

test('both: each side receives the other side once, nothing circulates back', { skip }, async () => {
  const near = await collector(local.port, ['both/#'], 2);
  const far = await collector(remote.port, ['both/#'], 2);
  await publish(local.port, 'both/from-culex', 'c', 2);
  await publish(remote.port, 'both/from-mosq', 'm', 2);
  await receivedCount(near, 2);
  await receivedCount(far, 2);
  await sleep(300);
  assert.deepEqual(near.received.map((r) => r.topic).sort(), ['both/from-culex', 'both/from-mosq']);
  assert.deepEqual(far.received.map((r) => r.topic).sort(), ['both/from-culex', 'both/from-mosq']);
  await near.end();
  await far.end();
});

test('prefixes: local prefix swapped for the remote one going out and back coming in', { skip }, async () => {
  const far = await collector(remote.port, ['hq/a/sensors/#', 'remote/#'], 1);
  const near = await collector(local.port, ['site/#'], 1);
  await publish(local.port, 'site/a/sensors/t1', '21', 1);
  await publish(local.port, 'local/single', 'one', 0);
  await publish(remote.port, 'hq/a/cmd/reboot', 'now', 1);
  await receivedCount(far, 2);
  await receivedCount(near, 2);
  assert.deepEqual(far.received.map((r) => r.topic).sort(), ['hq/a/sensors/t1', 'remote/single']);
  assert.ok(near.received.some((r) => r.topic === 'site/a/cmd/reboot' && r.payload === 'now'));
  await far.end();
  await near.end();
});

test('retained messages keep their retain flag across the bridge', { skip }, async () => {
  await publish(local.port, 'out/retained', 'kept', 1, true);
  await sleep(200);
  const far = await collector(remote.port, ['out/retained'], 1);
  const [m] = await receivedCount(far, 1);
  assert.equal(m?.retain, true);
  assert.equal(m?.payload, 'kept');
  await publish(local.port, 'out/retained', '', 1, true);
  await far.end();
});

test('notifications: $SYS/broker/connection/<remote_clientid>/state is 1 on both sides', {
  skip,
}, async () => {
  const topic = '$SYS/broker/connection/culex-bridge/state';
  const near = await collector(local.port, [topic], 1);
  const far = await collector(remote.port, [topic], 1);
  const [n] = await receivedCount(near, 1);
  const [f] = await receivedCount(far, 1);
  assert.deepEqual([n?.payload, n?.retain, f?.payload, f?.retain], ['1', true, '1', true]);
  await near.end();
  await far.end();
});
