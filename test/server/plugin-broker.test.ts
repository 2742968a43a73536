// A plugin acts on the broker through context.broker, the same typed control surface as the library's Broker:
// it publishes (retained, QoS 1) and disconnects a client with an MQTT 5 reason code, and reads live counts.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createBroker, parseConfig } from '../../src/index.js';
import { freePort, waitFor } from '../helpers/net.js';

const dir = mkdtempSync(join(tmpdir(), 'culex-plugin-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PLUGIN = `
export default function (context) {
  return {
    onClientConnected(client) {
      if (client.username === 'kickme') {
        context.broker.disconnect(client.clientId, { reasonCode: 0x87 });
        return;
      }
      const online = context.broker.clients.count;
      const known = context.broker.sessions.list({ limit: 10 }).items.map((s) => s.clientId).sort().join(',');
      context.broker.publish({ topic: 'welcome/' + client.clientId, payload: online + ' ' + known, qos: 1, retain: true });
    },
  };
}
`;

async function connect(port: number, extra: Partial<IClientOptions>): Promise<MqttClient> {
  const client = mqtt.connect({ port, host: '127.0.0.1', protocolVersion: 5, reconnectPeriod: 0, ...extra });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

test('a plugin publishes and disconnects clients through context.broker', async () => {
  const file = join(dir, 'greeter.mjs');
  writeFileSync(file, PLUGIN);
  const port = await freePort();
  const broker = await createBroker(
    parseConfig(`listener ${port} 127.0.0.1\nallow_anonymous true\nplugin ${file}\nlog_dest none\n`),
  );
  try {
    const watcher = await connect(port, { clientId: 'watcher' });
    const got: string[] = [];
    watcher.on('message', (topic, payload, packet) =>
      got.push(`${topic}=${payload}${packet.retain ? ' R' : ''}`),
    );
    await watcher.subscribeAsync('welcome/#', { qos: 1 });
    // The watcher's own welcome was retained before it subscribed.
    assert.ok(await waitFor(() => got.includes('welcome/watcher=1 watcher R')), got.join(' | '));

    const other = await connect(port, { clientId: 'other' });
    assert.ok(await waitFor(() => got.includes('welcome/other=2 other,watcher')), got.join(' | '));
    assert.equal(broker.retained.get('welcome/other')?.qos, 1);

    // Listening from the start: the DISCONNECT may arrive in the same read as the CONNACK.
    const kicked = mqtt.connect({
      port,
      host: '127.0.0.1',
      protocolVersion: 5,
      reconnectPeriod: 0,
      clientId: 'k',
      username: 'kickme',
    });
    const reason = await new Promise<number | undefined>((resolve) => {
      kicked.once('disconnect', (packet) => resolve(packet.reasonCode));
    });
    assert.equal(reason, 0x87);
    assert.ok(await waitFor(() => broker.clients.get('k') === undefined));
    assert.equal(
      got.some((g) => g.startsWith('welcome/k=')),
      false,
    );
    kicked.end(true);
    await other.endAsync();
    await watcher.endAsync();
  } finally {
    await broker.stop();
  }
});
