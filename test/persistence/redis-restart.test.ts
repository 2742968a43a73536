// The broker on the Redis store, in process, against a real redis-server: what Redis holds when an
// acknowledgement leaves, and QoS 2 state both ways across a restart (the store read back at start-up).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/persistence/redis-store.js';
import { Broker } from '../../src/server/broker.js';
import { publishPacket } from '../helpers/raw-client.js';
import { type RedisServer, requireRedis, startRedis } from '../helpers/redis.js';
import {
  client,
  incomingQos2AcrossRestart,
  nextAck,
  offlineSubscriber,
  outgoingQos2AcrossRestarts,
  type RunningBroker,
} from './restart-helpers.js';

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

interface Running extends RunningBroker {
  broker: Broker;
  store: RedisStore;
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

test('[MQTT-4.3.2-2] PUBACK leaves only once Redis holds the message for the offline persistent session', {
  skip,
}, async () => {
  const prefix = `r${++prefixNo}:`;
  const run = await start(prefix);
  try {
    await offlineSubscriber(run.port, 'sub', 'a/#', 1);
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
  await outgoingQos2AcrossRestarts(
    () => start(prefix),
    async () => {
      assert.equal(await probe.hlen(`${prefix}session:sub:deliveries`), 0);
      assert.deepEqual(await probe.keys(`${prefix}msg:*`), []);
    },
  );
});

test('[MQTT-4.3.3-10] an incoming QoS 2 identifier survives a restart: the resent PUBLISH is not routed twice', {
  skip,
}, async () => {
  const prefix = `r${++prefixNo}:`;
  await incomingQos2AcrossRestart(
    () => start(prefix),
    async () => assert.deepEqual(await probe.smembers(`${prefix}session:pub:qos2in`), ['7']),
  );
});
