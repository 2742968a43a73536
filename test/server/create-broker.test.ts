// An embedder builds a broker from mosquitto.conf text through the public API only (createBroker, loadConfig,
// parseConfig) and talks to it with the npm mqtt client: listeners, ACL file, $SYS and reload come from the file.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { BrokerStartError, createBroker, loadConfig, parseConfig } from '../../src/index.js';
import { freePort } from '../helpers/net.js';

const dir = mkdtempSync(join(tmpdir(), 'culex-embed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The version in the repository's package.json (the tests run from the repository's root). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string })
    .version;
}

async function connect(port: number): Promise<MqttClient> {
  const client = mqtt.connect({ port, host: '127.0.0.1', reconnectPeriod: 0, connectTimeout: 3000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** Subscribes to `filter`, publishes `topic`, and says whether the message came back within a short wait. */
async function roundTrip(client: MqttClient, filter: string, topic: string): Promise<string | undefined> {
  await client.subscribeAsync(filter, { qos: 1 });
  const got = new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 400);
    client.once('message', (_t, payload) => {
      clearTimeout(timer);
      resolve(payload.toString());
    });
  });
  await client.publishAsync(topic, `to ${topic}`, { qos: 1 });
  return got;
}

test('createBroker(await loadConfig(file)) opens the listeners, applies the ACL file and publishes $SYS', async () => {
  const port = await freePort();
  const acl = join(dir, 'acl');
  writeFileSync(acl, 'topic readwrite public/#\ntopic read $SYS/#\n');
  const conf = join(dir, 'embed.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nacl_file ${acl}\nsys_interval 1\nlog_dest none\n`,
  );
  const broker = await createBroker(await loadConfig(conf));
  try {
    assert.deepEqual(
      broker.listening.map((l) => l.port),
      [port],
    );
    const client = await connect(port);
    try {
      assert.equal(await roundTrip(client, 'public/a', 'public/a'), 'to public/a');
      assert.equal(await roundTrip(client, 'private/a', 'private/a'), undefined, 'denied by the ACL file');
      const version = new Promise<string>((resolve) => {
        client.on('message', (topic, payload) => {
          if (topic === '$SYS/broker/version') resolve(payload.toString());
        });
      });
      await client.subscribeAsync('$SYS/broker/version');
      // Read from package.json, whatever embeds the broker (not the '0.0.0' fallback).
      assert.equal(await version, `culex version ${packageVersion()}`);

      // The same file edited, then reload(): the new ACL is live for the connected client.
      writeFileSync(acl, 'topic readwrite #\n');
      assert.equal(await broker.reload(), true);
      assert.equal(await roundTrip(client, 'private/b', 'private/b'), 'to private/b');
    } finally {
      await client.endAsync();
    }
  } finally {
    await broker.stop();
  }
});

test('createBroker(parseConfig(text)) serves a configuration given as text; reload() has nothing to read', async () => {
  const port = await freePort();
  const broker = await createBroker(
    parseConfig(`listener ${port} 127.0.0.1\nallow_anonymous true\nlog_dest none\n`),
  );
  try {
    const client = await connect(port);
    assert.equal(await roundTrip(client, 't/#', 't/1'), 'to t/1');
    await client.endAsync();
    assert.equal(await broker.reload(), false);
  } finally {
    await broker.stop();
  }
});

test('createBroker fails with the stage that broke and leaves nothing open', async () => {
  const port = await freePort();
  const missing = join(dir, 'no-such-acl');
  await assert.rejects(
    createBroker(parseConfig(`listener ${port} 127.0.0.1\nacl_file ${missing}\nlog_dest none\n`)),
    (err: unknown) => err instanceof BrokerStartError && err.stage === 'security',
  );
  const first = await createBroker(parseConfig(`listener ${port} 127.0.0.1\nlog_dest none\n`));
  try {
    await assert.rejects(
      createBroker(parseConfig(`listener ${port} 127.0.0.1\nlog_dest none\n`)),
      (err: unknown) =>
        err instanceof BrokerStartError && err.stage === 'listen' && err.listener?.port === port,
    );
  } finally {
    await first.stop();
  }
});

test('createBroker builds the store and WebSocket listeners the file names: retained messages survive a restart', async () => {
  const [tcp, ws] = [await freePort(), await freePort()];
  const store = mkdtempSync(join(dir, 'store-'));
  const text =
    `persistence true\npersistence_location ${store}/\nallow_anonymous true\nlog_dest none\n` +
    `listener ${tcp} 127.0.0.1\nlistener ${ws} 127.0.0.1\nprotocol websockets\n`;
  const first = await createBroker(parseConfig(text));
  try {
    assert.deepEqual(
      first.listeners.map((l) => l.protocol),
      ['mqtt', 'websockets'],
    );
    const client = mqtt.connect(`ws://127.0.0.1:${ws}/mqtt`, { reconnectPeriod: 0, connectTimeout: 3000 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.publishAsync('kept/1', 'over websockets', { qos: 1, retain: true });
    await client.endAsync();
  } finally {
    await first.stop();
  }
  const second = await createBroker(parseConfig(text));
  try {
    assert.equal(second.retained.get('kept/1')?.payload.toString(), 'over websockets');
    const client = await connect(tcp);
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await client.subscribeAsync('kept/#');
    assert.equal(await got, 'over websockets');
    await client.endAsync();
  } finally {
    await second.stop();
  }
});
