// Shared subscriptions across nodes when a member goes away (real processes, one redis-server): a member that
// loses its connection hands its unacknowledged QoS 1 messages and those queued for it to a member on another
// node, as one broker hands them to another connected member (MQTT 5 section 4.8.2; shared-redelivery.ts); its
// stored copies leave Redis with the move. When a member's node dies, the survivor that adopts its session hands
// them on the same way (adoption.ts).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { type Broker, connect, killHard, startBroker, writeNodeConf } from '../helpers/kill-load.js';
import { freePort, sleep } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { RawClient, subscribe } from '../helpers/raw-client.js';
import { type RedisServer, requireRedis, startRedis } from '../helpers/redis.js';

const skip = requireRedis();
const N = 20;
/** The leaving member's Receive Maximum: some of its share in flight, the rest queued for it. */
const WINDOW = 4;

let redis: RedisServer;
const nodes: Broker[] = [];
const ports: number[] = [];
const clients: MqttClient[] = [];

before(async () => {
  if (skip !== false) return;
  redis = await startRedis();
  const dir = tempDir('culex-share-');
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    ports.push(port);
    nodes.push(await startBroker(writeNodeConf(dir, port, redis.url, `s${i}`), port));
  }
});

after(async () => {
  for (const c of clients) c.end(true);
  for (const n of nodes) await killHard(n);
  await redis?.stop();
});

/** A member that never acknowledges (a raw client), persistent, with a small Receive Maximum. */
async function silentMember(port: number, clientId: string, filter: string): Promise<RawClient> {
  const { client } = await RawClient.connect(port, {
    clientId,
    clean: false,
    version: 5,
    properties: { sessionExpiryInterval: 300, receiveMaximum: WINDOW },
  });
  await subscribe(client, 1, [[filter, 1]]);
  return client;
}

async function member(port: number, filter: string, got: string[]): Promise<MqttClient> {
  const c = await connect(port, { protocolVersion: 5, clean: true });
  clients.push(c);
  c.on('message', (_t, payload) => got.push(payload.toString()));
  await c.subscribeAsync(filter, { qos: 1 });
  return c;
}

async function publishAll(port: number, topic: string): Promise<void> {
  const pub = await connect(port, { clean: true });
  clients.push(pub);
  for (let i = 0; i < N; i++) await pub.publishAsync(topic, `m${i}`, { qos: 1 });
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await sleep(20);
}

const all = Array.from({ length: N }, (_, i) => `m${i}`).sort();

test('a member that disconnects with unacknowledged and queued messages: the member on another node gets them, and they leave Redis [MQTT-4.8.2] 5.0', {
  skip,
  timeout: 30_000,
}, async () => {
  const [a, b, c] = ports as [number, number, number];
  const leaving = await silentMember(a, 'ho-leaving', '$share/g/ho/t');
  const got: string[] = [];
  await member(b, '$share/g/ho/t', got);
  await sleep(200);
  await publishAll(c, 'ho/t');
  const held = (await leaving.collect(500, WINDOW)).filter((p) => p.type === 3).length;
  assert.equal(held, WINDOW, 'the leaving member holds a full window unacknowledged');
  await until(() => got.length >= N / 2, 3000);
  assert.ok(got.length < N, `the other member has not got them all yet (${got.length})`);
  leaving.destroy();
  await until(() => got.length >= N, 5000);
  await sleep(200);
  assert.deepEqual([...got].sort(), all, 'every message once, at the member that stayed');
  // The moved copies left the leaving member's stored session in the same commit as their forwarding.
  const r = new Redis(redis.url);
  try {
    assert.equal(await r.hlen('culex:session:ho-leaving:deliveries'), 0);
    assert.equal(await r.exists('culex:session:ho-leaving'), 1, 'the session itself stays');
  } finally {
    r.disconnect();
  }
  // Back, it finds no message to resume: they went to the other member.
  const back = await RawClient.connect(a, {
    clientId: 'ho-leaving',
    clean: false,
    version: 5,
    properties: { sessionExpiryInterval: 0 },
  });
  assert.equal(back.connack.sessionPresent, true);
  assert.equal((await back.client.collect(300)).filter((p) => p.type === 3).length, 0);
  back.client.destroy();
});

test("a member's node is killed: the survivor that adopts its session hands what it held to the group's live member", {
  skip,
  timeout: 30_000,
}, async () => {
  const [a, b, c] = ports as [number, number, number];
  await silentMember(a, 'dn-leaving', '$share/g/dn/t');
  const got: string[] = [];
  await member(b, '$share/g/dn/t', got);
  await sleep(200);
  await publishAll(c, 'dn/t');
  await until(() => got.length >= N / 2, 3000);
  await sleep(300);
  assert.ok(got.length < N, `the other member has not got them all yet (${got.length})`);
  await killHard(nodes[0]!);
  // Dead after 500 ms, then adopted by s1 or s2, which hands the messages on (to s1, locally or across).
  await until(() => got.length >= N, 8000);
  await sleep(200);
  assert.deepEqual([...got].sort(), all, 'every message once, at the member that stayed');
});
