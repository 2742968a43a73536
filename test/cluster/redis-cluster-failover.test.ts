// `cluster_redis_cluster true` through a Redis Cluster failover: three masters with two replicas each (nine real
// redis-server processes), two culex nodes that WAIT for one replica per commit. The master serving Culex's hash
// slot is SIGKILLed under QoS 1/2 load published on node A for a persistent subscriber on node B; the cluster
// promotes one of its replicas (the other follows it), the nodes' Cluster client finds the new master, and every
// message acknowledged before, during or after the failover is delivered.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { describeOutcome, failoverNodeConf, loadThroughFailover } from '../helpers/failover-load.js';
import { type Broker, killHard, startBroker } from '../helpers/kill-load.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { requireRedis } from '../helpers/redis.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireRedis() || requireTool('redis-cli');
/** Every Culex key on a Redis Cluster is under this hash tag (the default prefix). */
const SLOT_KEY = '{culex:}nodes';

test('Redis Cluster failover under QoS 1/2 load: the nodes follow the promoted replica; nothing acknowledged is lost', {
  skip,
  timeout: 120_000,
}, async () => {
  const set = await startRedisCluster(3, 2);
  const dir = tempDir('culex-rcluster-nodes-');
  const brokers: Broker[] = [];
  try {
    const seeds = set.servers.map((s) => s.port);
    const [portA, portB] = [await freePort(), await freePort()];
    // Each node seeded by a different server: the slot table comes from whichever answers.
    for (const [i, [id, port]] of (
      [
        ['ra', portA],
        ['rb', portB],
      ] as const
    ).entries()) {
      const lines = [`cluster_redis_url redis://127.0.0.1:${seeds[i * 4]}`, 'cluster_redis_cluster true'];
      brokers.push(await startBroker(failoverNodeConf(dir, id, port, lines), port));
    }
    let oldPort = 0;
    let newPort = 0;
    let promotedMs = 0;
    const outcome = await loadThroughFailover(portA, portB, async () => {
      oldPort = await set.masterOf(SLOT_KEY);
      const killedAt = Date.now();
      await set.servers.find((s) => s.port === oldPort)!.kill();
      newPort = await set.waitForPromotion(SLOT_KEY, oldPort);
      promotedMs = Date.now() - killedAt;
      await set.waitForReplicas(newPort, 1);
    });
    process.stdout.write(
      `redis-cluster-failover: master ${oldPort} killed, ${newPort} promoted after ${promotedMs} ms, its replica online after ${outcome.failoverMs} ms; ${describeOutcome(outcome)}\n`,
    );
    const t = outcome.tally;
    const logs = brokers.map((b) => b.output()).join('\n---\n');
    assert.ok(outcome.before > 100, `only ${outcome.before} messages acknowledged before the kill`);
    assert.ok(
      outcome.after > 100,
      `cross-node traffic did not resume: ${outcome.after} acknowledged after the promotion\n${logs}`,
    );
    assert.equal(outcome.collected.sessionPresent, true, "node B lost the durable subscriber's session");
    assert.deepEqual(t.unknown, [], 'messages nobody sent');
    assert.deepEqual(
      t.lost.slice(0, 10),
      [],
      `${t.lost.length} of ${t.acknowledged} acknowledged messages lost\n${logs}`,
    );
  } finally {
    for (const broker of brokers) await killHard(broker);
    await set.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
