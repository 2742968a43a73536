// The broker on the Redis store, in process, against a real redis-server: what Redis holds when an
// acknowledgement leaves, and QoS 2 state both ways across a restart (the store read back at start-up).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/persistence/redis-store.js';
import type { AckPacket, Packet, PublishPacket } from '../../src/protocol/packets.js';
import { Broker } from '../../src/server/broker.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { type RedisServer, requireRedis, startRedis } from '../helpers/redis.js';

const skip = requireRedis();
let server: RedisServer;
let probe: Redis;
let prefixNo = 0;

before(async () => {
  if (skip !== false) return;
  server = await startRedis();
  probe = new Redis(server.url);
});
after(async () => {
  probe?.disconnect();
  await server?.stop();
});

interface Running {
  broker: Broker;
  port: number;
  store: RedisStore;
  stop(): Promise<void>;
}

async function start(prefix: string): Promise<Running> {
  const redis = new Redis(server.url);
  const store = await RedisStore.open({ redis, nodeId: 'n1', prefix, ownsConnection: true });
  const broker = new Broker({ options: { connectionMessages: false }, store });
  const [l] = await broker.listen([{ port: 0, host: '127.0.0.1' }]);
  return {
    broker,
    port: l!.port,
    store,
    stop: async () => {
      await broker.stop();
      await store.closed();
    },
  };
}

async function client(port: number, clientId: string, clean: boolean): Promise<RawClient> {
  const { client: c, connack } = await RawClient.connect(port, { clientId, clean });
  assert.equal(connack.reasonCode, 0);
  return c;
}

async function nextAck(c: RawClient, type: 4 | 5 | 6 | 7): Promise<AckPacket> {
  for (;;) {
    const p = await c.next();
    if (p.type === type) return p as AckPacket;
  }
}

function isPublish(p: Packet): p is PublishPacket {
  return p.type === 3;
}

test('[MQTT-4.3.2-2] PUBACK leaves only once Redis holds the message for the offline persistent session', {
  skip,
}, async () => {
  const prefix = `r${++prefixNo}:`;
  const run = await start(prefix);
  try {
    const sub = await client(run.port, 'sub', false);
    await subscribe(sub, 1, [['a/#', 1]]);
    sub.disconnect();
    await sub.waitClosed();
    const pub = await client(run.port, 'pub', true);
    // Writes wait in Redis for 300 ms (reads go on): the PUBACK must wait for them.
    await probe.call('CLIENT', 'PAUSE', '300', 'WRITE');
    const sent = Date.now();
    pub.send(publishPacket('a/b', 'hello', 1, 10));
    const ack = await nextAck(pub, 4);
    assert.equal(ack.packetId, 10);
    assert.ok(Date.now() - sent >= 250, `PUBACK after ${Date.now() - sent} ms, before Redis took the write`);
    // Read from another connection the moment the PUBACK arrived: already in Redis.
    assert.equal(await probe.hlen(`${prefix}session:sub:deliveries`), 1);
    assert.equal((await probe.keys(`${prefix}msg:*`)).length, 1);
    assert.equal(await probe.hget(`${prefix}owner`, 'sub'), 'n1');
    pub.disconnect();
  } finally {
    await run.stop();
  }
});

test('[MQTT-4.4.0-1] outgoing QoS 2 in flight is resent after a restart with DUP and the same packet identifier, then PUBREL', {
  skip,
}, async () => {
  const prefix = `r${++prefixNo}:`;
  let run = await start(prefix);
  const sub = await client(run.port, 'sub', false);
  await subscribe(sub, 1, [['q2', 2]]);
  const pub = await client(run.port, 'pub', true);
  pub.send(publishPacket('q2', 'exactly-once', 2, 5));
  await nextAck(pub, 5);
  const first = await sub.nextOfType(3);
  assert.equal(first.qos, 2);
  sub.destroy();
  pub.destroy();
  await run.stop();

  run = await start(prefix);
  const again = await client(run.port, 'sub', false);
  const resent = (await again.collect(200)).filter(isPublish);
  assert.equal(resent.length, 1);
  assert.equal(resent[0]!.dup, true);
  assert.equal(resent[0]!.packetId, first.packetId);
  again.send({ type: 5, packetId: first.packetId, reasonCode: 0 });
  const rel = await nextAck(again, 6);
  assert.equal(rel.packetId, first.packetId);
  again.destroy();
  await run.stop();

  // Released before the restart: only the PUBREL is resent [MQTT-4.3.3-3].
  run = await start(prefix);
  const third = await client(run.port, 'sub', false);
  const packets = await third.collect(200);
  assert.deepEqual(
    packets.map((p) => p.type),
    [6],
  );
  third.send({ type: 7, packetId: first.packetId, reasonCode: 0 });
  await third.collect(50);
  third.disconnect();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await probe.hlen(`${prefix}session:sub:deliveries`), 0);
  assert.deepEqual(await probe.keys(`${prefix}msg:*`), []);
  await run.stop();
});

test('[MQTT-4.3.3-10] an incoming QoS 2 identifier survives a restart: the resent PUBLISH is not routed twice', {
  skip,
}, async () => {
  const prefix = `r${++prefixNo}:`;
  let run = await start(prefix);
  const s = await client(run.port, 'sub', false);
  await subscribe(s, 1, [['in', 2]]);
  s.disconnect();
  await s.waitClosed();
  const pub = await client(run.port, 'pub', false);
  pub.send(publishPacket('in', 'once', 2, 7));
  await nextAck(pub, 5);
  assert.deepEqual(await probe.smembers(`${prefix}session:pub:qos2in`), ['7']);
  pub.destroy();
  await run.stop();

  run = await start(prefix);
  const pub2 = await client(run.port, 'pub', false);
  pub2.send(publishPacket('in', 'once', 2, 7, { dup: true }));
  assert.equal((await nextAck(pub2, 5)).packetId, 7);
  pub2.send({ type: 6, packetId: 7, reasonCode: 0 });
  const comp = await nextAck(pub2, 7);
  assert.equal(comp.reasonCode, 0);
  pub2.disconnect();
  const sub = await client(run.port, 'sub', false);
  const got = (await sub.collect(300)).filter(isPublish);
  assert.equal(got.length, 1);
  sub.disconnect();
  await run.stop();
});
