// Redis behind Sentinel: a primary, two replicas and three Sentinels (real redis-server processes), two culex
// nodes that find the primary through the Sentinels and WAIT for one replica per commit. The primary is
// SIGKILLed under QoS 1/2 load published on node A for a persistent subscriber on node B; the Sentinels promote
// a replica, both nodes reconnect to it, cross-node traffic resumes, and every message acknowledged before,
// during or after the failover is delivered.

import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MqttClient } from 'mqtt';
import {
  type Broker,
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
import { requireRedis } from '../helpers/redis.js';
import { startSentinelSet } from '../helpers/redis-sentinel.js';

const skip = requireRedis();
/** CULEX_SENTINEL_NO_WAIT=1: the same run without WAIT, to see what asynchronous replication loses. */
const noWait = process.env.CULEX_SENTINEL_NO_WAIT === '1';

function nodeConf(dir: string, id: string, port: number, lines: readonly string[]): string {
  const conf = join(dir, `${id}.conf`);
  const text = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    ...lines,
    `cluster_node_id ${id}`,
    'cluster_heartbeat_interval 200ms',
    'cluster_node_timeout 2s',
    ...(noWait ? [] : ['cluster_redis_wait_replicas 1', 'cluster_redis_wait_timeout 2s']),
    'max_queued_messages 0',
    'connection_messages false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    '',
  ];
  writeFileSync(conf, text.join('\n'));
  return conf;
}

test('Sentinel failover under QoS 1/2 load: nodes follow the promoted replica; nothing acknowledged is lost', {
  skip,
  timeout: 90_000,
}, async () => {
  const set = await startSentinelSet(2, 3);
  const dir = tempDir('culex-sentinel-nodes-');
  const brokers: Broker[] = [];
  let loading = true;
  try {
    const [portA, portB] = [await freePort(), await freePort()];
    brokers.push(await startBroker(nodeConf(dir, 'sa', portA, set.confLines), portA));
    brokers.push(await startBroker(nodeConf(dir, 'sb', portB, set.confLines), portB));
    const [a, b] = brokers as [Broker, Broker];
    const durable = await connect(portB, { clientId: 'durable', clean: false });
    await durable.subscribeAsync('load/#', { qos: 2 });
    await durable.endAsync();

    const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };
    let publisher: MqttClient | undefined;
    let connections = 0;
    const load = (async () => {
      for (let iter = 1; loading; iter++) {
        try {
          publisher = await connect(portA, { clientId: `pub-${iter}`, clean: true });
        } catch {
          await sleep(100);
          continue;
        }
        connections++;
        await loadUntilClosed(publisher, iter, ledger);
      }
    })();
    await sleep(700);
    const oldPort = await set.masterPort();
    const before = ledger.acked.size;
    const killedAt = Date.now();
    await set.servers.find((s) => s.port === oldPort)!.kill();
    const newPort = await set.waitForFailover(oldPort);
    const promotedAfter = Date.now() - killedAt;
    // WAIT 1 refuses acknowledgements until the other replica follows the new primary (Sentinel reconfigures it).
    await set.waitForReplicas(newPort, 1, 20_000);
    const resynced = Date.now() - killedAt;
    const atFailover = ledger.acked.size;
    // Load goes on for a while against the new primary.
    await sleep(2000);
    loading = false;
    publisher?.end(true);
    await load;
    const after = ledger.acked.size - atFailover;
    const collected = await collectAll(portB, 'durable', ledger, new Map(), 30_000);
    const t = tally(ledger, collected);
    process.stdout.write(
      `sentinel-failover${noWait ? ' (no WAIT)' : ''}: primary ${oldPort} killed, ${newPort} promoted after ${promotedAfter} ms, its replica in sync after ${resynced} ms; acknowledged ${t.acknowledged} (${before} before the kill, ${after} after the resync), delivered ${t.delivered}, lost ${t.lost.length}, QoS 2 duplicated ${t.duplicatedQos2.length}, QoS 1 duplicated ${t.duplicatedQos1}, publisher connections ${connections}; the subscriber's session present ${collected.sessionPresent} after ${collected.attempts} CONNECT(s)\n`,
    );
    for (const broker of [a, b]) {
      assert.match(broker.output(), /Cluster: Redis connection lost \(.*\); retrying\./, broker.output());
      assert.match(broker.output(), /Cluster: Redis connection restored\./, broker.output());
    }
    assert.ok(before > 100, `only ${before} messages acknowledged before the kill`);
    assert.ok(after > 100, `cross-node traffic did not resume: ${after} acknowledged after the promotion`);
    assert.equal(collected.sessionPresent, true, "node B lost the durable subscriber's session");
    assert.deepEqual(t.unknown, [], 'messages nobody sent');
    if (!noWait)
      assert.deepEqual(
        t.lost.slice(0, 10),
        [],
        `${t.lost.length} of ${t.acknowledged} acknowledged messages lost`,
      );
  } finally {
    loading = false;
    for (const broker of brokers) await killHard(broker);
    await set.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
