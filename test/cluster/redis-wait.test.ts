// cluster_redis_wait_replicas: a PUBACK and a SUBACK leave only once a replica has the turn's writes (WAIT after
// the commit's EXEC). With the replica SIGSTOPped the acknowledgement is held for cluster_redis_wait_timeout,
// then refused: the connection is closed without it (the client resends after reconnecting), as when a commit
// fails. A node without the option acknowledges at once whatever the replica does.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { startNode, type TestNode } from '../helpers/cluster-nodes.js';
import { requireRedis, startRedis, waitForReplicasOnline } from '../helpers/redis.js';

const skip = requireRedis();

function connect(node: TestNode, clientId: string, clean = true): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({
      host: '127.0.0.1',
      port: node.port,
      clientId,
      clean,
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error(`${clientId}: closed before CONNACK`)));
  });
}

/** Resolves with the PUBACK / SUBACK time, or 'closed' when the connection ended first. */
function outcome(client: MqttClient, act: (done: () => void) => void): Promise<number | 'closed'> {
  const start = Date.now();
  return new Promise((resolve) => {
    client.once('close', () => resolve('closed'));
    act(() => resolve(Date.now() - start));
  });
}

test('WAIT: acknowledgements wait for a replica; with the replica stopped they are refused after the timeout', {
  skip,
  timeout: 45_000,
}, async () => {
  const primary = await startRedis();
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const nodes: TestNode[] = [];
  const clients: MqttClient[] = [];
  try {
    const waiting = await startNode('w1', primary.url, 'wait:', [
      'cluster_redis_wait_replicas 1',
      'cluster_redis_wait_timeout 400ms',
    ]);
    nodes.push(waiting);
    const plain = await startNode('p1', primary.url, 'plain:');
    nodes.push(plain);
    // A replica's first sync (connect, fork, RDB transfer) took over 5 s on a loaded CI machine.
    await waitForReplicasOnline(primary.port, 1, 20_000);
    assert.ok(
      waiting.lines.some((l) => l.includes('Persistence: redis 127.0.0.1:') && l.includes('WAIT 1 replicas')),
      waiting.lines.join('\n'),
    );

    // Replica up: the acknowledgements come.
    const pub = await connect(waiting, 'pub-1');
    clients.push(pub);
    const sub = await connect(waiting, 'sub-1', false);
    clients.push(sub);
    assert.equal(typeof (await outcome(sub, (done) => sub.subscribe('w/#', { qos: 1 }, done))), 'number');
    assert.equal(typeof (await outcome(pub, (done) => pub.publish('w/1', 'a', { qos: 1 }, done))), 'number');

    const heldPub = await connect(waiting, 'pub-2');
    clients.push(heldPub);
    const heldSub = await connect(waiting, 'sub-2', false);
    clients.push(heldSub);
    const plainPub = await connect(plain, 'pub-3');
    clients.push(plainPub);

    replica.signal('SIGSTOP');
    // Replica stopped: nothing is acknowledged (CONNACKs that write included); the connections the held
    // output was for are closed.
    const t0 = Date.now();
    const refused = await outcome(heldPub, (done) => heldPub.publish('w/2', 'b', { qos: 1 }, done));
    assert.equal(refused, 'closed', 'no PUBACK while the replica does not confirm');
    assert.ok(Date.now() - t0 >= 350, `held ${Date.now() - t0} ms, about cluster_redis_wait_timeout`);
    assert.ok(
      waiting.lines.some((l) => l.includes('Redis WAIT: 0 of 1 replicas confirmed the writes within 400 ms')),
      waiting.lines.join('\n'),
    );
    assert.equal(
      await outcome(heldSub, (done) => heldSub.subscribe('x/#', { qos: 1 }, done)),
      'closed',
      'no SUBACK for a persistent session while the replica does not confirm',
    );
    // The same Redis without the option: acknowledged at once, the replica is not asked.
    const fast = await outcome(plainPub, (done) => plainPub.publish('w/3', 'c', { qos: 1 }, done));
    assert.equal(typeof fast, 'number');

    replica.signal('SIGCONT');
    // A replica's first sync (connect, fork, RDB transfer) took over 5 s on a loaded CI machine.
    await waitForReplicasOnline(primary.port, 1, 20_000);
    const again = await connect(waiting, 'pub-2');
    clients.push(again);
    assert.equal(
      typeof (await outcome(again, (done) => again.publish('w/2', 'b', { qos: 1 }, done))),
      'number',
    );
  } finally {
    for (const c of clients) c.end(true);
    for (const n of nodes) await n.stop();
    await replica.stop();
    await primary.stop();
  }
});
