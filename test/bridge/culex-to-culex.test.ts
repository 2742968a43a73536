// Culex bridged to Culex, MQTT 3.1.1 and MQTT 5, and two Culex brokers bridged to each other (one bridge in
// each direction): no message circulates.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBridges } from '../../src/index.js';
import { startBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import {
  bridgesFrom,
  bridgesUp,
  collector,
  connect,
  culexWithBridges,
  publish,
  receivedCount,
} from './bridge-helpers.js';

for (const version of ['mqttv311', 'mqttv50'] as const) {
  test(`${version} bridge: out and in with QoS 2, user properties kept on MQTT 5`, async () => {
    const remote = await startBroker();
    const local = await culexWithBridges([
      'connection c2c',
      `address 127.0.0.1:${remote.port}`,
      `bridge_protocol_version ${version}`,
      'restart_timeout 1',
      'topic a/# out 2',
      'topic b/# in 2 l/ r/',
    ]);
    try {
      await bridgesUp(local.bridges);
      const far = await collector(remote.port, ['a/#'], 2, { protocolVersion: 5 });
      const near = await collector(local.port, ['l/#'], 2);
      const props: [string, string][] = [];
      far.client.on('message', (_t, _p, packet) => {
        const user = packet.properties?.userProperties as Record<string, string> | undefined;
        if (user !== undefined) props.push(...Object.entries(user));
      });
      const pub = await connect(local.port, { protocolVersion: 5 });
      await pub.publishAsync('a/1', 'x', { qos: 2, properties: { userProperties: { k: 'v' } } });
      await pub.endAsync();
      await publish(remote.port, 'r/b/2', 'y', 2);
      const [m] = await receivedCount(far, 1);
      const [n] = await receivedCount(near, 1);
      assert.deepEqual([m?.topic, m?.qos, n?.topic, n?.qos], ['a/1', 2, 'l/b/2', 2]);
      assert.deepEqual(props, version === 'mqttv50' ? [['k', 'v']] : []);
      await far.end();
      await near.end();
    } finally {
      await local.stop();
      await remote.stop();
    }
  });
}

test('loop prevention: a bridge each way between two Culex brokers, no message circulates', async () => {
  const b = await startBroker();
  const a = await culexWithBridges([
    'connection a-to-b',
    `address 127.0.0.1:${b.port}`,
    'bridge_protocol_version mqttv50',
    'restart_timeout 1',
    'topic loop/# out 1',
  ]);
  const back = startBridges(
    b.broker,
    bridgesFrom([
      'connection b-to-a',
      `address 127.0.0.1:${a.port}`,
      'bridge_protocol_version mqttv50',
      'restart_timeout 1',
      'topic loop/# out 1',
    ]),
  );
  try {
    await bridgesUp(a.bridges);
    await bridgesUp(back);
    const onA = await collector(a.port, ['loop/#'], 1);
    const onB = await collector(b.port, ['loop/#'], 1);
    await publish(a.port, 'loop/from-a', '1', 1);
    await publish(b.port, 'loop/from-b', '2', 1);
    await receivedCount(onA, 2);
    await receivedCount(onB, 2);
    await sleep(500);
    assert.deepEqual(onA.received.map((r) => r.topic).sort(), ['loop/from-a', 'loop/from-b']);
    assert.deepEqual(onB.received.map((r) => r.topic).sort(), ['loop/from-a', 'loop/from-b']);
    await onA.end();
    await onB.end();
  } finally {
    back.stopAll();
    await a.stop();
    await b.stop();
  }
});

test('bridge_max_topic_alias: the remote Culex sends topic aliases, the bridge resolves them', async () => {
  const remote = await startBroker();
  const local = await culexWithBridges([
    'connection alias',
    `address 127.0.0.1:${remote.port}`,
    'bridge_protocol_version mqttv50',
    'bridge_max_topic_alias 4',
    'restart_timeout 1',
    'topic t/# in 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    const near = await collector(local.port, ['t/#'], 1);
    const pub = await connect(remote.port);
    for (let i = 0; i < 3; i++) await pub.publishAsync('t/same/topic', String(i), { qos: 1 });
    await pub.publishAsync('t/other', 'x', { qos: 1 });
    await pub.endAsync();
    const got = await receivedCount(near, 4);
    assert.deepEqual(
      got.map((m) => `${m.topic}=${m.payload}`),
      ['t/same/topic=0', 't/same/topic=1', 't/same/topic=2', 't/other=x'],
    );
    await near.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});
