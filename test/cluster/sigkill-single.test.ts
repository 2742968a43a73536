// One cluster node on the Redis store, as a real `culex` process, SIGKILLed again and again under QoS 1 / 2
// load and restarted with the same node id: every message it acknowledged (PUBACK / PUBREC) before a kill
// reaches the persistent subscriber afterwards, QoS 2 exactly once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertDelivered,
  type Broker,
  collectAll,
  killConf,
  killHard,
  killRepeatedly,
  type Ledger,
  startBroker,
  tally,
} from '../helpers/kill-load.js';
import { freePort } from '../helpers/net.js';
import { tempDir, writeConf } from '../helpers/processes.js';
import { requireRedis, startRedis } from '../helpers/redis.js';
import { seededRng } from '../helpers/seed.js';

const skip = requireRedis();
const KILLS = 10;

test('acknowledged QoS 1/2 messages survive repeated SIGKILL of a node on the Redis store', {
  skip,
  timeout: 150_000,
}, async () => {
  const rng = seededRng('sigkill-single kill timing');
  const redis = await startRedis();
  const dir = tempDir('culex-cluster-');
  const port = await freePort();
  const conf = writeConf(
    dir,
    port,
    killConf([
      `cluster_redis_url ${redis.url}`,
      'cluster_node_id solo',
      'cluster_heartbeat_interval 100ms',
      'cluster_node_timeout 400ms',
    ]),
  );
  const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };
  let broker: Broker | undefined;
  try {
    assert.equal(await killRepeatedly(conf, port, KILLS, rng, ledger), KILLS);
    assert.ok(ledger.acked.size > 200, `only ${ledger.acked.size} messages acknowledged`);
    broker = await startBroker(conf, port);
    const t = tally(ledger, await collectAll(port, 'durable', ledger));
    process.stdout.write(
      `sigkill-single: ${KILLS} kills, acknowledged ${t.acknowledged}, delivered ${t.delivered}, lost ${t.lost.length}, QoS 2 duplicated ${t.duplicatedQos2.length}, QoS 1 duplicated ${t.duplicatedQos1}\n`,
    );
    assertDelivered(t);
  } finally {
    if (broker !== undefined) await killHard(broker);
    await redis.stop();
  }
});
