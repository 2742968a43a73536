// One cluster node on the Redis store, as a real `culex` process, SIGKILLed again and again under QoS 1 / 2
// load and restarted with the same node id: every message it acknowledged (PUBACK / PUBREC) before a kill
// reaches the persistent subscriber afterwards, QoS 2 exactly once.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  collectAll,
  connect,
  killHard,
  type Ledger,
  loadUntilClosed,
  startBroker,
  tally,
} from '../helpers/kill-load.js';
import { freePort, sleep } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
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
  const conf = join(dir, 'culex.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `cluster_redis_url ${redis.url}`,
      'cluster_node_id solo',
      'cluster_heartbeat_interval 100ms',
      'cluster_node_timeout 400ms',
      'max_queued_messages 0',
      'connection_messages false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };
  let broker = await startBroker(conf, port);
  try {
    const first = await connect(port, { clientId: 'durable', clean: false });
    await first.subscribeAsync('load/#', { qos: 2 });
    await first.endAsync();
    for (let iter = 1; iter <= KILLS; iter++) {
      if (iter > 1) broker = await startBroker(conf, port);
      const publisher = await connect(port, { clientId: `pub-${iter}`, clean: true });
      const loading = loadUntilClosed(publisher, iter, ledger);
      await sleep(80 + rng.int(300));
      await killHard(broker);
      publisher.end(true);
      await loading;
    }
    assert.ok(ledger.acked.size > 200, `only ${ledger.acked.size} messages acknowledged`);
    broker = await startBroker(conf, port);
    const t = tally(ledger, await collectAll(port, 'durable', ledger));
    process.stdout.write(
      `sigkill-single: ${KILLS} kills, acknowledged ${t.acknowledged}, delivered ${t.delivered}, lost ${t.lost.length}, QoS 2 duplicated ${t.duplicatedQos2.length}, QoS 1 duplicated ${t.duplicatedQos1}\n`,
    );
    assert.deepEqual(
      t.lost.slice(0, 10),
      [],
      `${t.lost.length} of ${t.acknowledged} acknowledged messages lost`,
    );
    assert.deepEqual(t.duplicatedQos2.slice(0, 10), [], 'QoS 2 messages delivered more than once');
    assert.deepEqual(t.unknown, [], 'messages nobody sent');
  } finally {
    await killHard(broker);
    await redis.stop();
  }
});
