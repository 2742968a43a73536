// $SYS/broker/... status topics (Mosquitto's "BROKER STATUS"): contents, change-only updates, sys_interval 0.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { BrokerCore } from '../../src/broker/broker-core.js';
import { LoadAverage } from '../../src/broker/load-average.js';
import { SysTopics } from '../../src/broker/sys-topics.js';
import { startBroker, withBroker } from '../helpers/broker.js';

interface Seen {
  topic: string;
  value: string;
  retain: boolean;
  qos: number;
}

async function connect(port: number, clientId: string, clean = true): Promise<MqttClient> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    clientId,
    clean,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

function record(client: MqttClient): Seen[] {
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => {
    seen.push({ topic, value: payload.toString(), retain: packet.retain, qos: packet.qos });
  });
  return seen;
}

/** Waits until `predicate` holds over what was seen so far (polling), or fails after `ms`. */
async function until(
  seen: Seen[],
  predicate: (s: Seen[]) => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate(seen)) {
    if (Date.now() > deadline)
      assert.fail(`timed out waiting for ${what}; saw ${JSON.stringify(seen.slice(-20))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function last(seen: Seen[], topic: string): string | undefined {
  for (let i = seen.length - 1; i >= 0; i--) if (seen[i]!.topic === topic) return seen[i]!.value;
  return undefined;
}

const end = (c: MqttClient): Promise<void> => new Promise((r) => c.end(false, {}, () => r()));

test('$SYS: version, uptime and client counts arrive retained and follow connections', async () => {
  await withBroker({ sysInterval: 1, version: '9.8.7' }, async ({ port }) => {
    const watcher = await connect(port, 'watcher');
    const seen = record(watcher);
    await watcher.subscribeAsync('$SYS/broker/#', { qos: 0 });

    // The first round happened at start-up: its values come as retained messages (QoS 0, as published).
    await until(
      seen,
      (s) => last(s, '$SYS/broker/version') !== undefined && last(s, '$SYS/broker/uptime') !== undefined,
      2000,
      'version',
    );
    const version = seen.find((m) => m.topic === '$SYS/broker/version')!;
    assert.equal(version.value, 'culex version 9.8.7');
    assert.equal(version.retain, true);
    assert.equal(version.qos, 0);
    assert.match(last(seen, '$SYS/broker/uptime')!, /^\d+ seconds$/);
    assert.equal(last(seen, '$SYS/broker/clients/connected'), '0');

    // Next round: the watcher itself is counted.
    await until(seen, (s) => last(s, '$SYS/broker/clients/connected') === '1', 2500, 'connected 1');
    const uptimes = seen.filter((m) => m.topic === '$SYS/broker/uptime').map((m) => m.value);
    assert.ok(uptimes.length >= 2 && uptimes.at(-1) !== uptimes[0], `uptime advances: ${uptimes.join(', ')}`);

    // A persistent client connects, then leaves its session behind: total / maximum / disconnected follow.
    const other = await connect(port, 'persistent', false);
    await until(seen, (s) => last(s, '$SYS/broker/clients/connected') === '2', 2500, 'connected 2');
    assert.equal(last(seen, '$SYS/broker/clients/total'), '2');
    assert.equal(last(seen, '$SYS/broker/clients/maximum'), '2');
    await end(other);
    await until(seen, (s) => last(s, '$SYS/broker/clients/connected') === '1', 2500, 'connected back to 1');
    assert.equal(last(seen, '$SYS/broker/clients/disconnected'), '1');
    assert.equal(last(seen, '$SYS/broker/clients/total'), '2');
    assert.equal(last(seen, '$SYS/broker/clients/maximum'), '2');
    assert.equal(last(seen, '$SYS/broker/subscriptions/count'), '1');

    // Static and unchanged topics are not repeated; the version went out exactly once.
    assert.equal(seen.filter((m) => m.topic === '$SYS/broker/version').length, 1);
    assert.equal(seen.filter((m) => m.topic === '$SYS/broker/clients/expired').length, 1);
    // Socket byte counters reached the totals.
    assert.ok(Number(last(seen, '$SYS/broker/bytes/received')) > 0);
    assert.ok(Number(last(seen, '$SYS/broker/bytes/sent')) > 0);
    await end(watcher);
  });
});

test('$SYS: messages published by the broker are not counted as received; client PUBLISHes are', async () => {
  await withBroker({ sysInterval: 1 }, async ({ broker, port }) => {
    assert.equal(broker.stats.messagesReceived, 0, 'the start-up round counts nothing');
    assert.ok(broker.retained.get('$SYS/broker/uptime') !== undefined);
    const watcher = await connect(port, 'watcher');
    const seen = record(watcher);
    await watcher.subscribeAsync('$SYS/broker/messages/received', { qos: 0 });
    await watcher.publishAsync('plain/topic', 'x', { qos: 1 });
    await until(seen, (s) => last(s, '$SYS/broker/messages/received') === '1', 2500, 'received 1');
    assert.equal(broker.stats.messagesReceived, 1);
    await end(watcher);
  });
});

test('$SYS: sys_interval 0 publishes nothing', async () => {
  await withBroker({ sysInterval: 0 }, async ({ broker, port }) => {
    const watcher = await connect(port, 'watcher');
    const seen = record(watcher);
    await watcher.subscribeAsync('$SYS/#', { qos: 0 });
    await new Promise((r) => setTimeout(r, 1300));
    assert.deepEqual(seen, []);
    assert.equal(broker.retained.count, 0);
    await end(watcher);
  });
});

test('$SYS: the default library broker has no $SYS publisher; stop() ends it', async () => {
  const b = await startBroker({});
  assert.equal(b.broker.retained.count, 0);
  await b.stop();
  const s = await startBroker({ sysInterval: 1 });
  await s.stop();
  const count = s.broker.retained.count;
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(s.broker.retained.count, count, 'nothing published after stop');
  const uptime = s.broker.retained.get('$SYS/broker/uptime');
  assert.equal(uptime?.payload.toString(), '0 seconds');
});

test('$SYS: uptime, expiry counter, store count and 60 s message expiry with an injected clock', () => {
  const core = new BrokerCore();
  let now = 1_000_000;
  const sys = new SysTopics(core, { interval: 10, version: 'x', now: () => now });
  sys.start();
  try {
    const get = (topic: string): string | undefined => core.retained.get(topic)?.payload.toString();
    assert.equal(get('$SYS/broker/uptime'), '0 seconds');
    assert.equal(get('$SYS/broker/clients/expired'), '0');
    assert.equal(core.retained.get('$SYS/broker/version')?.expiresAt, 0, 'the version never expires');
    assert.equal(core.retained.get('$SYS/broker/uptime')?.expiresAt, now + 60_000, 'Mosquitto: 60 s expiry');
    const before = Number(get('$SYS/broker/retained messages/count'));
    assert.ok(
      Number(get('$SYS/broker/messages/stored')) > 0,
      'the retained $SYS messages are in the store count',
    );

    now += 25_000;
    core.stats.sessionsExpired = 3;
    sys.update();
    assert.equal(get('$SYS/broker/uptime'), '25 seconds');
    assert.equal(get('$SYS/broker/clients/expired'), '3');
    // The store count includes the $SYS messages retained in the first round, as Mosquitto's does.
    assert.ok(Number(get('$SYS/broker/store/messages/count')) >= before);
    assert.equal(get('$SYS/broker/load/messages/received/1min'), '0.00');
  } finally {
    sys.stop();
    core.close();
  }
});

test('$SYS load averages: exponential moving averages of the per-minute rate, as Mosquitto computes them', () => {
  // Mosquitto 2.0.11 showed load/sockets 2.95 / 0.60 / 0.20 after 3 sockets in its first 2 s.
  const load = new LoadAverage(0);
  load.sample(3, 2);
  assert.deepEqual(
    load.values.map((v) => v.toFixed(2)),
    ['2.95', '0.60', '0.20'],
  );
  // With no new events the averages decay towards zero, the 1-minute one fastest.
  const [one, five] = load.values as [number, number, number];
  load.sample(3, 60);
  assert.ok(Math.abs(load.values[0]! - one * Math.exp(-1)) < 1e-9);
  assert.ok(Math.abs(load.values[1]! - five * Math.exp(-60 / 300)) < 1e-9);
  // A steady 120 events a minute converges to 120 per minute.
  let count = 3;
  for (let i = 0; i < 1000; i++) {
    count += 20;
    load.sample(count, 10);
  }
  assert.ok(
    Math.abs(load.values[0]! - 120) < 0.01 && Math.abs(load.values[2]! - 120) < 0.01,
    load.values.join(),
  );
});
