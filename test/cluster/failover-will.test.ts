// Wills when a node dies (real processes, SIGKILL): the survivor that reaps it publishes the armed will of each
// client that was connected there — clean session or persistent — once; a persistent session's will with a Will
// Delay Interval waits its delay on the survivor and is not sent when the client resumes in time elsewhere.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { type Broker, killHard, startBroker, writeNodeConf } from '../helpers/kill-load.js';
import { freePort, sleep } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { requireRedis, startRedis } from '../helpers/redis.js';

const skip = requireRedis();

function open(port: number, options: mqtt.IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, ...options });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

test("a dead node's armed wills are published once by the survivor; a delayed will is cancelled by a resume elsewhere", {
  skip,
  timeout: 60_000,
}, async () => {
  const redis = await startRedis();
  const dir = tempDir('culex-wills-');
  const nodes: Broker[] = [];
  const clients: MqttClient[] = [];
  try {
    const ports = [await freePort(), await freePort()];
    for (const [i, port] of ports.entries()) {
      const conf = writeNodeConf(dir, port, redis.url, `w${i}`, ['log_type notice']);
      nodes.push(await startBroker(conf, port));
    }
    const [a, b] = ports as [number, number];
    const watcher = await open(b, { clientId: 'watcher', clean: true });
    clients.push(watcher);
    const got: string[] = [];
    watcher.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await watcher.subscribeAsync('will/#', { qos: 1 });
    await sleep(300);
    const will = (topic: string, delay?: number): mqtt.IClientOptions['will'] => ({
      topic,
      payload: Buffer.from('gone'),
      qos: 1,
      retain: false,
      ...(delay === undefined ? {} : { properties: { willDelayInterval: delay } }),
    });
    clients.push(await open(a, { clientId: 'clean', clean: true, will: will('will/clean') }));
    clients.push(await open(a, { clientId: 'durable', clean: false, will: will('will/durable') }));
    clients.push(
      await open(a, {
        clientId: 'delayed',
        clean: false,
        protocolVersion: 5,
        properties: { sessionExpiryInterval: 300 },
        will: will('will/delayed', 2),
      }),
    );
    // Not resumed: its will goes on the survivor once its delay (from the death of its node) ran out.
    clients.push(
      await open(a, {
        clientId: 'late',
        clean: false,
        protocolVersion: 5,
        properties: { sessionExpiryInterval: 300 },
        will: will('will/late', 3),
      }),
    );
    await sleep(300);
    await killHard(nodes[0]!);
    // Dead after 500 ms, then reaped: the two wills without delay go; the delayed ones wait.
    const end = Date.now() + 5000;
    while (Date.now() < end && got.length < 2) await sleep(50);
    await sleep(300);
    assert.deepEqual([...got].sort(), ['will/clean=gone', 'will/durable=gone']);
    // The delayed will's client resumes on b before its delay ran out: its will is not sent.
    const back = await open(b, {
      clientId: 'delayed',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 300 },
    });
    clients.push(back);
    assert.equal(back.connected, true);
    const late = Date.now() + 6000;
    while (Date.now() < late && got.length < 3) await sleep(50);
    await sleep(500);
    assert.deepEqual(
      [...got].sort(),
      ['will/clean=gone', 'will/durable=gone', 'will/late=gone'],
      'each will once; none for the session that resumed',
    );
  } finally {
    for (const c of clients) c.end(true);
    for (const n of nodes) await killHard(n);
    await redis.stop();
  }
});
