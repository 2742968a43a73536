// Redis (AOF, appendfsync always) SIGKILLed and restarted under QoS 1 / 2 load across two nodes: the nodes say
// so in their logs and carry on; every message acknowledged to the publisher before, during or after the outage
// reaches the persistent subscribers on both nodes (the publisher's and the other one), QoS 2 exactly once: a
// MULTI that Redis applied before the kill and ioredis sends again once it is back adds its cross-node copies a
// second time, and the receiving node handles each such entry once (its id, src/cluster/recent-ids.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startNode, type TestNode } from '../helpers/cluster-nodes.js';
import { type Ledger, persistentClient, steadyLoad, tally } from '../helpers/kill-load.js';
import { sleep } from '../helpers/net.js';
import { requireRedis, startRedis } from '../helpers/redis.js';

const skip = requireRedis();

test('Redis killed and restarted under load: nothing acknowledged is lost, QoS 2 once', {
  skip,
  timeout: 60_000,
}, async () => {
  const redis = await startRedis({ args: ['--appendfsync', 'always'] });
  const nodes: TestNode[] = [];
  const clients: MqttClient[] = [];
  try {
    nodes.push(await startNode('a', redis.url, 'out:'));
    nodes.push(await startNode('b', redis.url, 'out:'));
    const [a, b] = nodes as [TestNode, TestNode];
    const received = [new Map<string, number>(), new Map<string, number>()];
    for (const [i, node] of [a, b].entries()) {
      const sub = persistentClient(`sub-${i}`, [{ host: '127.0.0.1', port: node.port }]);
      clients.push(sub);
      sub.on('message', (_t, payload) => {
        const p = payload.toString();
        received[i]!.set(p, (received[i]!.get(p) ?? 0) + 1);
      });
      await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
      await sub.subscribeAsync('load/#', { qos: 2 });
    }
    await sleep(300);
    const pub = persistentClient('pub', [{ host: '127.0.0.1', port: a.port }]);
    clients.push(pub);
    const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };
    const load = steadyLoad(pub, 'load/x', '', ledger);
    await new Promise<void>((resolve) => pub.once('connect', () => resolve()));
    await sleep(700);
    const before = ledger.acked.size;
    await redis.kill();
    await sleep(1000);
    const during = ledger.acked.size;
    await redis.restart();
    await sleep(2500);
    load.stop();
    const settle = Date.now() + 15_000;
    while (load.outstanding() > 0 && Date.now() < settle) await sleep(100);
    const end = Date.now() + 15_000;
    while (Date.now() < end && received.some((r) => [...ledger.acked].some((p) => !r.has(p))))
      await sleep(200);
    await sleep(300);
    const tallies = received.map((r) => tally(ledger, r));
    process.stdout.write(
      `redis-outage: sent ${ledger.sent.size}, acknowledged ${ledger.acked.size} (${before} before the kill, ${during - before} while Redis was down); ${tallies
        .map(
          (t, i) =>
            `sub-${i}: delivered ${t.delivered}, lost ${t.lost.length}, QoS 2 duplicated ${t.duplicatedQos2.length}, QoS 1 duplicated ${t.duplicatedQos1}`,
        )
        .join('; ')}\n`,
    );
    assert.ok(before > 50, `only ${before} messages acknowledged before the kill`);
    assert.ok(ledger.acked.size > during + 50, 'publishing resumed after Redis came back');
    assert.equal(load.outstanding(), 0, 'messages left unacknowledged after Redis came back');
    tallies.forEach((t, i) => {
      assert.deepEqual(t.lost.slice(0, 10), [], `sub-${i}: ${t.lost.length} acknowledged messages lost`);
      assert.deepEqual(t.duplicatedQos2.slice(0, 10), [], `sub-${i}: QoS 2 messages delivered twice`);
      assert.deepEqual(t.unknown, [], `sub-${i}: messages nobody sent`);
    });
    assert.ok(
      a.lines.some((l) => l.startsWith('Cluster: Redis connection lost')),
      a.lines.filter((l) => l.startsWith('Cluster')).join('\n'),
    );
    assert.ok(a.lines.includes('Cluster: Redis connection restored.'));
  } finally {
    for (const c of clients) c.end(true);
    for (const node of nodes) await node.stop();
    await redis.stop();
  }
});
