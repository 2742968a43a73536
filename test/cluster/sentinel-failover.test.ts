// Redis behind Sentinel: a primary, two replicas and three Sentinels (real redis-server processes), two culex
// nodes that find the primary through the Sentinels and WAIT for one replica per commit. The primary is
// SIGKILLed under QoS 1/2 load published on node A for a persistent subscriber on node B; the Sentinels promote
// a replica, both nodes reconnect to it, cross-node traffic resumes, and every message acknowledged before,
// during or after the failover is delivered.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { describeOutcome, failoverNodeConf, loadThroughFailover } from '../helpers/failover-load.js';
import { type Broker, killHard, startBroker } from '../helpers/kill-load.js';
import { freePort } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { requireRedis } from '../helpers/redis.js';
import { startSentinelSet } from '../helpers/redis-sentinel.js';

const skip = requireRedis();
/** CULEX_SENTINEL_NO_WAIT=1: the same run without WAIT, to see what asynchronous replication loses. */
const noWait = process.env.CULEX_SENTINEL_NO_WAIT === '1';

test('Sentinel failover under QoS 1/2 load: nodes follow the promoted replica; nothing acknowledged is lost', {
  skip,
  timeout: 90_000,
}, async () => {
  const set = await startSentinelSet(2, 3);
  const dir = tempDir('culex-sentinel-nodes-');
  const brokers: Broker[] = [];
  try {
    const [portA, portB] = [await freePort(), await freePort()];
    for (const [id, port] of [
      ['sa', portA],
      ['sb', portB],
    ] as const)
      brokers.push(await startBroker(failoverNodeConf(dir, id, port, set.confLines, noWait), port));
    let oldPort = 0;
    let newPort = 0;
    let promotedMs = 0;
    const outcome = await loadThroughFailover(portA, portB, async () => {
      oldPort = await set.masterPort();
      const killedAt = Date.now();
      await set.servers.find((s) => s.port === oldPort)!.kill();
      newPort = await set.waitForFailover(oldPort);
      promotedMs = Date.now() - killedAt;
      // WAIT 1 refuses acknowledgements until the other replica follows the new primary (Sentinel reconfigures it).
      await set.waitForReplicas(newPort, 1, 20_000);
    });
    process.stdout.write(
      `sentinel-failover${noWait ? ' (no WAIT)' : ''}: primary ${oldPort} killed, ${newPort} promoted after ${promotedMs} ms, its replica in sync after ${outcome.failoverMs} ms; ${describeOutcome(outcome)}\n`,
    );
    for (const broker of brokers) {
      assert.match(broker.output(), /Cluster: Redis connection lost \(.*\); retrying\./, broker.output());
      assert.match(broker.output(), /Cluster: Redis connection restored\./, broker.output());
    }
    const t = outcome.tally;
    assert.ok(outcome.before > 100, `only ${outcome.before} messages acknowledged before the kill`);
    assert.ok(
      outcome.after > 100,
      `cross-node traffic did not resume: ${outcome.after} acknowledged after the promotion`,
    );
    assert.equal(outcome.collected.sessionPresent, true, "node B lost the durable subscriber's session");
    assert.deepEqual(t.unknown, [], 'messages nobody sent');
    if (!noWait)
      assert.deepEqual(
        t.lost.slice(0, 10),
        [],
        `${t.lost.length} of ${t.acknowledged} acknowledged messages lost`,
      );
  } finally {
    for (const broker of brokers) await killHard(broker);
    await set.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
