// The $SYS topics Mosquitto 2.0 publishes that Culex lacked: publish/bytes/received, publish/bytes/sent,
// shared_subscriptions/count (and subscriptions/count without the shared ones), store/messages/bytes. Compared
// with the real mosquitto 2.0.11 running the same scenario.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { storedMessages } from '../../src/broker/sys-topics.js';
import { withBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import { type BrokerProcess, startCulexProcess, startMosquitto } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';

const TOPICS = [
  'publish/bytes/received',
  'publish/bytes/sent',
  'shared_subscriptions/count',
  'subscriptions/count',
] as const;

function connect(port: number, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync({ host: '127.0.0.1', port, clientId, reconnectPeriod: 0, protocolVersion: 4 });
}

/** Shared and plain subscribers, a QoS 1 message, a retained one, then the $SYS values after one round. */
async function scenario(broker: BrokerProcess): Promise<Record<string, string>> {
  const shared = await connect(broker.port, 'shared');
  const plain = await connect(broker.port, 'plain');
  await shared.subscribeAsync('$share/g/a/#', { qos: 1 });
  await plain.subscribeAsync('a/#', { qos: 1 });
  const publisher = await connect(broker.port, 'publisher');
  const arrived = new Promise<void>((resolve) => {
    let n = 0;
    plain.on('message', () => ++n === 2 && resolve());
  });
  await publisher.publishAsync('a/b', '1234567890', { qos: 1 });
  await publisher.publishAsync('a/r', '12345', { qos: 1, retain: true });
  await publisher.publishAsync('elsewhere', 'abc', { qos: 0 });
  await arrived;
  // sys_interval 1: wait for a round after the traffic, then read the retained values (QoS 0, once each).
  // Mosquitto 2.0 updates when more than the interval has passed in whole seconds, so every 2 s here.
  await sleep(2600);
  const watcher = await connect(broker.port, 'watcher');
  const values: Record<string, string> = {};
  watcher.on('message', (topic, payload) => {
    values[topic.slice('$SYS/broker/'.length)] ??= payload.toString();
  });
  await watcher.subscribeAsync(TOPICS.map((t) => `$SYS/broker/${t}`));
  await sleep(200);
  await Promise.all([shared, plain, publisher, watcher].map((c) => c.endAsync()));
  return values;
}

test('$SYS publish bytes and shared subscription counts as mosquitto 2.0.11 reports them', {
  skip: requireTool('mosquitto'),
}, async () => {
  const results: Record<string, string>[] = [];
  for (const start of [startMosquitto, startCulexProcess]) {
    const broker = await start(['allow_anonymous true', 'sys_interval 1']);
    try {
      results.push(await scenario(broker));
    } finally {
      await broker.stop();
    }
  }
  const [mosquitto, culex] = results;
  // 10 + 5 + 3 payload bytes in; 10 and 5 to each of the two subscribers out.
  assert.deepEqual(mosquitto, {
    'publish/bytes/received': '18',
    'publish/bytes/sent': '30',
    'shared_subscriptions/count': '1',
    'subscriptions/count': '1',
  });
  assert.deepEqual(culex, mosquitto);
});

test('$SYS store/messages/bytes: payload bytes of retained, queued and in-flight messages', async () => {
  await withBroker({}, async ({ broker, port }) => {
    const publisher = await connect(port, 'publisher');
    await publisher.publishAsync('r/one', Buffer.alloc(5000), { qos: 1, retain: true });
    // An offline persistent session holding two queued QoS 1 messages.
    const offline = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'offline', clean: false });
    await offline.subscribeAsync('q/#', { qos: 1 });
    await offline.endAsync();
    await publisher.publishAsync('q/1', Buffer.alloc(300), { qos: 1 });
    await publisher.publishAsync('q/2', Buffer.alloc(200), { qos: 1 });
    await publisher.endAsync();
    assert.deepEqual(storedMessages(broker), { count: 3, bytes: 5500 });
  });
});
