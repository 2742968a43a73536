// Loss test: QoS 1 and QoS 2 messages published on a local Culex cross a bridge to a remote Culex (both with
// persistence) while the remote and the local broker are killed (SIGKILL) and restarted in turn. Every message
// acknowledged to its publisher must reach the far subscriber; QoS 2 exactly once, QoS 1 at least once.
// Default: 600 + 600 messages, 3 kills of each broker (seconds). BRIDGE_LOSS_FULL=1: 10,000 + 10,000 messages,
// 10 kills of each (the figures of the issue). The kill schedule is seeded; the seed is printed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { type BrokerProcess, startFromConf, tempDir, writeConf } from '../helpers/processes.js';

const FULL = process.env.BRIDGE_LOSS_FULL === '1';
const PER_QOS = FULL ? 10_000 : 600;
const KILLS = FULL ? 10 : 3;
const WINDOW = 50;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function restartable(
  conf: string,
  port: number,
): Promise<{ get(): BrokerProcess; kill(): Promise<void> }> {
  let proc = await startFromConf('culex', conf, port);
  return {
    get: () => proc,
    kill: async () => {
      proc.signal('SIGKILL');
      await waitFor(() => proc.exitStatus() !== null, 5000);
      proc = await startFromConf('culex', conf, port);
    },
  };
}

function client(port: number, clientId: string): MqttClient {
  return mqtt.connect({
    host: '127.0.0.1',
    port,
    clientId,
    clean: false,
    reconnectPeriod: 100,
    connectTimeout: 2000,
    protocolVersion: 4,
  });
}

test(`bridge loss test: ${PER_QOS} QoS 1 + ${PER_QOS} QoS 2 messages, ${KILLS} kills of each broker`, {
  timeout: FULL ? 900_000 : 120_000,
}, async () => {
  const seed = Number(process.env.BRIDGE_LOSS_SEED ?? Date.now() % 100_000);
  console.log(`bridge loss test seed ${seed}`);
  const random = seeded(seed);
  const remotePort = await freePort();
  const localPort = await freePort();
  const remoteDir = tempDir();
  const localDir = tempDir();
  // user root: the test runs as whichever user it is; Mosquitto's switch to "mosquitto" would lose the directory.
  const common = [
    'allow_anonymous true',
    'persistence true',
    'user root',
    'max_queued_messages 0',
    'max_inflight_messages 20',
  ];
  const remote = await restartable(
    writeConf(remoteDir, remotePort, [...common, `persistence_location ${remoteDir}/`]),
    remotePort,
  );
  const local = await restartable(
    writeConf(localDir, localPort, [
      ...common,
      `persistence_location ${localDir}/`,
      'connection loss',
      `address 127.0.0.1:${remotePort}`,
      'remote_clientid loss-bridge',
      'cleansession false',
      'restart_timeout 1',
      'keepalive_interval 5',
      'topic loss/# out 2',
    ]),
    localPort,
  );

  const received = new Map<string, number>();
  const sub = client(remotePort, 'loss-sub');
  sub.on('message', (_topic, payload) => {
    const key = payload.toString();
    received.set(key, (received.get(key) ?? 0) + 1);
  });
  await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
  await sub.subscribeAsync('loss/#', { qos: 2 });

  const acked = new Set<string>();
  const pub = client(localPort, 'loss-pub');
  await new Promise<void>((resolve) => pub.once('connect', () => resolve()));
  // Spread the messages over the whole kill schedule, so that every kill falls in the middle of the flow.
  const pauseEvery10 = Math.max(1, Math.round((KILLS * 2 * 650 * 10) / (PER_QOS * 2)));
  const publishAll = async (): Promise<void> => {
    let outstanding = 0;
    for (const qos of [1, 2] as const) {
      for (let i = 0; i < PER_QOS; i++) {
        if (i % 10 === 0) await sleep(pauseEvery10);
        while (outstanding >= WINDOW) await sleep(2);
        const key = `${qos}:${i}`;
        outstanding++;
        pub.publish(`loss/${qos}`, key, { qos }, (err) => {
          outstanding--;
          if (err === undefined || err === null) acked.add(key);
        });
      }
    }
    await waitFor(() => outstanding === 0, 60_000, 20);
  };

  let stop = false;
  let kills = 0;
  const chaos = (async () => {
    for (let k = 0; k < KILLS * 2 && !stop; k++) {
      await sleep(300 + Math.floor(random() * 700));
      await (k % 2 === 0 ? remote : local).kill();
      kills++;
    }
  })();
  try {
    await publishAll();
    await chaos;
    assert.equal(kills, KILLS * 2);
    const complete = await waitFor(
      () => [...acked].every((k) => received.has(k)),
      FULL ? 120_000 : 30_000,
      50,
    );
    const missing = [...acked].filter((k) => !received.has(k));
    const q2dup = [...received].filter(([k, n]) => k.startsWith('2:') && n > 1);
    const q1dup = [...received].filter(([k, n]) => k.startsWith('1:') && n > 1).length;
    console.log(
      `kills ${kills}, acked ${acked.size}/${PER_QOS * 2}, received ${received.size}, missing ${missing.length}, ` +
        `QoS 1 duplicates ${q1dup}, QoS 2 duplicates ${q2dup.length}`,
    );
    assert.ok(complete, `missing ${missing.length}: ${missing.slice(0, 10).join(', ')}`);
    assert.deepEqual(q2dup.slice(0, 10), [], 'QoS 2 exactly once');
    assert.ok(acked.size > 0);
  } finally {
    stop = true;
    await chaos;
    pub.end(true);
    sub.end(true);
    await local.get().stop();
    await remote.get().stop();
  }
});
