// Interop with the npm `mqtt` client at protocol levels 3 (MQTT 3.1) and 4 (MQTT 3.1.1).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { withBroker } from '../helpers/broker.js';

type Level = 3 | 4;

async function open(port: number, level: Level, extra: Partial<IClientOptions> = {}): Promise<MqttClient> {
  const options: IClientOptions = {
    port,
    host: '127.0.0.1',
    protocolVersion: level,
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...extra,
  };
  if (level === 3) options.protocolId = 'MQIsdp';
  const client = mqtt.connect(options);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

function nextMessage(
  client: MqttClient,
  timeoutMs = 3000,
): Promise<{ topic: string; payload: string; qos: number; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message')), timeoutMs);
    client.once('message', (topic, payload, packet) => {
      clearTimeout(timer);
      resolve({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
    });
  });
}

for (const level of [3, 4] as const) {
  test(`mqtt.js protocolVersion ${level}: publish/subscribe at QoS 0, 1 and 2`, async () => {
    await withBroker({}, async ({ port }) => {
      const sub = await open(port, level, { clientId: `js-sub-${level}` });
      const pub = await open(port, level, { clientId: `js-pub-${level}` });
      await sub.subscribeAsync('js/#', { qos: 2 });
      for (const qos of [0, 1, 2] as const) {
        const got = nextMessage(sub);
        await pub.publishAsync(`js/q${qos}`, `m${qos}`, { qos });
        assert.deepEqual(await got, { topic: `js/q${qos}`, payload: `m${qos}`, qos, retain: false });
      }
      await pub.endAsync();
      await sub.endAsync();
    });
  });

  test(`mqtt.js protocolVersion ${level}: retained message delivered to a later subscriber`, async () => {
    await withBroker({}, async ({ port }) => {
      const pub = await open(port, level, { clientId: `js-rp-${level}` });
      await pub.publishAsync('js/retained', 'kept', { qos: 1, retain: true });
      const sub = await open(port, level, { clientId: `js-rs-${level}` });
      const got = nextMessage(sub);
      await sub.subscribeAsync('js/retained', { qos: 1 });
      assert.deepEqual(await got, { topic: 'js/retained', payload: 'kept', qos: 1, retain: true });
      await pub.endAsync();
      await sub.endAsync();
    });
  });

  test(`mqtt.js protocolVersion ${level}: will published when the client vanishes`, async () => {
    await withBroker({}, async ({ port }) => {
      const watcher = await open(port, level, { clientId: `js-ww-${level}` });
      await watcher.subscribeAsync('js/will', { qos: 1 });
      const doomed = await open(port, level, {
        clientId: `js-wd-${level}`,
        will: { topic: 'js/will', payload: Buffer.from('gone'), qos: 1, retain: false },
      });
      const got = nextMessage(watcher);
      doomed.stream.destroy();
      assert.deepEqual(await got, { topic: 'js/will', payload: 'gone', qos: 1, retain: false });
      doomed.end(true);
      await watcher.endAsync();
    });
  });
}
