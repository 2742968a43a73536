// A node taken for dead while alive: node B (holding a persistent subscriber's offline session) is stopped with
// SIGSTOP past cluster_node_timeout while node A publishes QoS 1/2 for that subscriber; A reaps B and adopts the
// session; B continues, finds itself reaped ("taken for dead by the others; joining again") and must give up what
// it held. The subscriber then resumes on B and gets every message acknowledged to the publisher, QoS 2 once.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { describeOutcome, failoverNodeConf, loadThroughFailover } from '../helpers/failover-load.js';
import { type Broker, killHard, startBroker } from '../helpers/kill-load.js';
import { freePort, sleep } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { requireRedis, startRedis } from '../helpers/redis.js';

const skip = requireRedis();

test('a node reaped while alive gives its sessions up when it rejoins: nothing acknowledged is lost', {
  skip,
  timeout: 90_000,
}, async () => {
  const redis = await startRedis();
  const dir = tempDir('culex-rejoin-nodes-');
  const brokers: Broker[] = [];
  try {
    const [portA, portB] = [await freePort(), await freePort()];
    for (const [id, port] of [
      ['fa', portA],
      ['fb', portB],
    ] as const)
      brokers.push(
        await startBroker(failoverNodeConf(dir, id, port, [`cluster_redis_url ${redis.url}`], true), port),
      );
    const [a, b] = brokers as [Broker, Broker];
    const outcome = await loadThroughFailover(
      portA,
      portB,
      async () => {
        b.child.kill('SIGSTOP');
        for (let i = 0; i < 100 && !/node fb is dead;/.test(a.output()); i++) await sleep(100);
        b.child.kill('SIGCONT');
        for (let i = 0; i < 100 && !/taken for dead/.test(b.output()); i++) await sleep(100);
        // 3,000 a second: once, unpaced, 149,536 messages queued for the subscriber, and moving that session
        // between the nodes outlasted the collector's wait on a loaded machine.
      },
      2000,
      3000,
    );
    process.stdout.write(`rejoin-fenced: ${describeOutcome(outcome)}\n`);
    const logs = brokers.map((x) => x.output()).join('\n---\n');
    assert.match(a.output(), /Cluster: node fb is dead; adopted 1 sessions/, logs);
    assert.match(b.output(), /Cluster: node fb was taken for dead by the others; joining again\./, logs);
    const t = outcome.tally;
    assert.ok(outcome.after > 100, `traffic did not go on: ${outcome.after} acknowledged after the rejoin`);
    assert.equal(outcome.collected.sessionPresent, true, 'the session was lost');
    assert.deepEqual(t.unknown, [], 'messages nobody sent');
    assert.deepEqual(t.duplicatedQos2, [], 'QoS 2 messages delivered twice');
    assert.deepEqual(
      t.lost.slice(0, 10),
      [],
      `${t.lost.length} of ${t.acknowledged} acknowledged messages lost\n${logs}`,
    );
  } finally {
    for (const broker of brokers) {
      broker.child.kill('SIGCONT');
      await killHard(broker);
    }
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
