// Crash test of persistence with real processes: publish QoS 1 / 2 (and retained) messages under load to an
// offline persistent session, SIGKILL the broker at random moments (more than 20 times), restart it, and check
// that every message the broker acknowledged (PUBACK / PUBREC seen by the publisher) is delivered afterwards:
// QoS 1 at least once, QoS 2 exactly once, and retained state no older than the last acknowledged one.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { canConnect, freePort, sleep } from '../helpers/net.js';
import { CULEX_BIN, tempDir } from '../helpers/processes.js';
import { seededRng } from '../helpers/seed.js';

/** When each kill lands; printed so that a failing order can be replayed. */
const rng = seededRng('kill-restart kill timing');

const KILLS = 22;
const RETAINED_TOPICS = 4;

interface Broker {
  child: ChildProcess;
  output(): string;
}

async function startBroker(conf: string, port: number): Promise<Broker> {
  const child = spawn(process.execPath, [CULEX_BIN, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`culex exited early (${child.exitCode}):\n${out}`);
    if (await canConnect(port)) return { child, output: () => out };
    await sleep(15);
  }
  child.kill('SIGKILL');
  throw new Error(`culex did not listen:\n${out}`);
}

function killHard(b: Broker): Promise<void> {
  return new Promise((resolve) => {
    if (b.child.exitCode !== null || b.child.signalCode !== null) return resolve();
    b.child.once('exit', () => resolve());
    b.child.kill('SIGKILL');
  });
}

function connect(port: number, options: mqtt.IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 3000, ...options });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** What the publisher saw: payloads sent and the ones the broker acknowledged. */
interface Ledger {
  sent: Set<string>;
  acked: Set<string>;
  /** Per retained topic: highest counter acknowledged, and every counter sent. */
  retainedAcked: Map<string, number>;
}

/** Publishes until the connection dies, keeping `window` messages outstanding. */
function loadUntilClosed(client: MqttClient, iter: number, ledger: Ledger): Promise<void> {
  const byId = new Map<number, string>();
  client.on('packetsend', (p: Packet) => {
    if (p.cmd === 'publish' && p.qos > 0 && p.messageId !== undefined)
      byId.set(p.messageId, `${p.topic}|${String(p.payload)}`);
  });
  client.on('packetreceive', (p: Packet) => {
    if ((p.cmd === 'puback' || p.cmd === 'pubrec') && p.messageId !== undefined) {
      const key = byId.get(p.messageId);
      if (key === undefined) return;
      const [topic, payload] = key.split('|') as [string, string];
      if (topic.startsWith('ret/')) {
        const n = Number(payload.split(':')[1]);
        if (n > (ledger.retainedAcked.get(topic) ?? -1)) ledger.retainedAcked.set(topic, n);
      } else {
        ledger.acked.add(payload);
      }
    }
  });
  return new Promise((resolve) => {
    let n = 0;
    let closed = false;
    let outstanding = 0;
    const pump = (): void => {
      while (!closed && client.connected && outstanding < 64) {
        n++;
        const qos = (n % 2 === 0 ? 2 : 1) as 1 | 2;
        outstanding++;
        const done = (err?: Error): void => {
          outstanding--;
          // A failed publish means the connection is going: stop instead of spinning on errors.
          if (err !== undefined && err !== null) closed = true;
          if (!closed && client.connected) setImmediate(pump);
        };
        if (n % 25 === 0) {
          const topic = `ret/${n % RETAINED_TOPICS}`;
          client.publish(topic, `${iter}:${iter * 1_000_000 + n}`, { qos: 1, retain: true }, done);
        } else {
          const payload = `${qos}:${iter}:${n}`;
          ledger.sent.add(payload);
          client.publish(`load/q${qos}`, payload, { qos }, done);
        }
      }
    };
    client.once('close', () => {
      closed = true;
      resolve();
    });
    client.on('error', () => {});
    pump();
  });
}

test('acknowledged QoS 1/2 messages and retained messages survive repeated SIGKILL under load', {
  timeout: 90_000,
}, async () => {
  const dir = tempDir('culex-persist-');
  const port = await freePort();
  const conf = join(dir, 'culex.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}`,
      'user root',
      'max_queued_messages 0',
      'connection_messages false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };

  // The persistent subscriber registers, then goes away; everything is queued for it.
  let broker = await startBroker(conf, port);
  const first = await connect(port, { clientId: 'durable', clean: false });
  await first.subscribeAsync('load/#', { qos: 2 });
  await first.endAsync();

  let kills = 0;
  for (let iter = 1; iter <= KILLS; iter++) {
    if (iter > 1) broker = await startBroker(conf, port);
    const publisher = await connect(port, { clientId: `pub-${iter}`, clean: true });
    const loading = loadUntilClosed(publisher, iter, ledger);
    await sleep(80 + rng.int(300));
    await killHard(broker);
    kills++;
    publisher.end(true);
    await loading;
  }
  assert.ok(kills >= 20);
  assert.ok(ledger.acked.size > 500, `only ${ledger.acked.size} messages acknowledged`);

  broker = await startBroker(conf, port);
  try {
    const counts = new Map<string, number>();
    const sub = mqtt.connect({
      host: '127.0.0.1',
      port,
      clientId: 'durable',
      clean: false,
      reconnectPeriod: 0,
    });
    sub.on('message', (_topic, payload) => {
      const p = payload.toString();
      counts.set(p, (counts.get(p) ?? 0) + 1);
    });
    let last = Date.now();
    let seen = 0;
    sub.on('message', () => {
      seen++;
      last = Date.now();
    });
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      await sleep(100);
      let missing = 0;
      for (const p of ledger.acked) if (!counts.has(p)) missing++;
      if (missing === 0 && Date.now() - last > 500) break;
      if (seen > 0 && Date.now() - last > 3000) break;
    }
    await sub.endAsync();

    const lost = [...ledger.acked].filter((p) => !counts.has(p));
    assert.deepEqual(
      lost.slice(0, 10),
      [],
      `${lost.length} of ${ledger.acked.size} acknowledged messages lost`,
    );
    const duplicatedQos2 = [...counts].filter(([p, n]) => p.startsWith('2:') && n > 1);
    assert.deepEqual(duplicatedQos2.slice(0, 10), [], 'QoS 2 messages delivered more than once');
    const unknown = [...counts.keys()].filter((p) => !ledger.sent.has(p));
    assert.deepEqual(unknown, [], 'messages nobody sent');

    // Retained: each topic holds the last acknowledged value or a later one that was in flight at a kill.
    const reader = await connect(port, { clientId: 'reader', clean: true });
    const retained = new Map<string, number>();
    reader.on('message', (topic, payload, packet) => {
      if (packet.retain) retained.set(topic, Number(payload.toString().split(':')[1]));
    });
    await reader.subscribeAsync('ret/#', { qos: 1 });
    await sleep(300);
    await reader.endAsync();
    for (const [topic, n] of ledger.retainedAcked) {
      const got = retained.get(topic);
      assert.ok(got !== undefined && got >= n, `retained ${topic}: have ${got}, acknowledged ${n}`);
    }
  } finally {
    await killHard(broker);
  }
});
