// The operator's view of a cluster: /metrics' culex_cluster_* families and GET /api/culex/v1/cluster/nodes on
// two in-process nodes over one real redis-server, through their http_api listeners on loopback.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, sleep } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { httpJson, httpRequest } from '../http/http-client.js';
import { startOps } from '../http/ops-broker.js';
import {
  client,
  closeAll,
  type Node,
  newPrefix,
  routesKnown,
  skipWithoutRedis,
  startNode,
  until,
} from './fabric-helpers.js';

const READER = { token: 'read-token-0123456789' };

interface NodeRow {
  node: string;
  self: boolean;
  alive: boolean;
  last_beat: number | null;
  clients: number | null;
}

function tokenFile(): string {
  const file = join(tempDir('culex-cluster-admin-'), 'tokens');
  writeFileSync(file, `${READER.token} read grafana\n`);
  return file;
}

/** The value of one sample line (`name{labels}` exactly as written), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const metrics = async (port: number): Promise<string> => (await httpRequest(port, '/metrics')).body;

let redis: RedisServer;
const nodes: { node: Node; http: number }[] = [];

before(async () => {
  if (skipWithoutRedis !== false) return;
  redis = await startRedis();
  const prefix = newPrefix();
  const tokens = tokenFile();
  for (const id of ['a', 'b']) {
    const http = await freePort();
    const node = await startNode(redis, id, prefix, [
      `listener ${http} 127.0.0.1`,
      'protocol http_api',
      `http_api_token_file ${tokens}`,
      // A node that left is reaped only once the start's grace of one timeout is over (membership.ts).
      'cluster_node_timeout 1s',
    ]);
    nodes.push({ node, http });
  }
  // Each has seen the other beat.
  await until('both nodes to see each other', () =>
    nodes.every((n) => n.node.broker.cluster!.link.aliveNodes().length === 1),
  );
});

after(async () => {
  for (const n of nodes) await n.node.broker.stop();
  await redis?.stop();
});

test('/metrics of a cluster node: culex_cluster_nodes 2, the peer up, counters move with a cross-node publish', {
  skip: skipWithoutRedis,
}, async () => {
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  let text = await metrics(a.http);
  assert.match(text, /^# TYPE culex_cluster_nodes gauge$/m);
  assert.equal(sample(text, 'culex_cluster_nodes'), 2);
  assert.equal(sample(text, 'culex_cluster_node_up{node="a",self="true"}'), 1);
  assert.equal(sample(text, 'culex_cluster_node_up{node="b",self="false"}'), 1);
  const forwarded0 = sample(text, 'culex_cluster_messages_forwarded_total');
  const received0 = sample(await metrics(b.http), 'culex_cluster_messages_received_total');
  assert.equal(typeof forwarded0, 'number');
  assert.equal(typeof received0, 'number');

  const sub = await client(b.node);
  const pub = await client(a.node);
  try {
    await sub.mqtt.subscribeAsync('metered/#', { qos: 1 });
    await routesKnown(a.node, 'metered/x', [b.node]);
    for (let i = 0; i < 3; i++) await pub.mqtt.publishAsync('metered/x', `m${i}`, { qos: 1 });
    await until('3 messages on b', () => sub.received.length === 3);
  } finally {
    await closeAll([sub, pub]);
  }
  text = await metrics(a.http);
  assert.ok(sample(text, 'culex_cluster_messages_forwarded_total')! >= forwarded0! + 3, 'forwarded by a');
  assert.equal(sample(text, 'culex_cluster_messages_dropped_total'), 0);
  const received = sample(await metrics(b.http), 'culex_cluster_messages_received_total');
  assert.ok(received! >= received0! + 3, `received by b: ${received}`);
});

test('GET /api/culex/v1/cluster/nodes: both nodes, self marked, alive, last beat and clients', {
  skip: skipWithoutRedis,
}, async () => {
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const held = await client(b.node);
  try {
    // b writes its client count with its next beat, a reads it with its own.
    let rows: NodeRow[] = [];
    const end = Date.now() + 8000;
    for (;;) {
      ({ nodes: rows } = await httpJson<{ nodes: NodeRow[] }>(a.http, '/api/culex/v1/cluster/nodes', READER));
      if (rows.find((r) => r.node === 'b')?.clients === 1 || Date.now() > end) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      rows.map((r) => [r.node, r.self, r.alive, r.clients]),
      [
        ['a', true, true, 0],
        ['b', false, true, 1],
      ],
    );
    // Heartbeats are stamped by the Redis server's clock, here the same machine's: within a few seconds.
    for (const r of rows) assert.ok(Math.abs(r.last_beat! - Date.now()) < 5000, `last_beat ${r.last_beat}`);
    const fromB = await httpJson<{ nodes: NodeRow[] }>(b.http, '/api/culex/v1/cluster/nodes', READER);
    assert.deepEqual(
      fromB.nodes.map((r) => [r.node, r.self]),
      [
        ['b', true],
        ['a', false],
      ],
    );
    const post = await httpRequest(a.http, '/api/culex/v1/cluster/nodes', { ...READER, method: 'POST' });
    assert.equal(post.status, 403);
    assert.equal((await httpRequest(a.http, '/api/culex/v1/cluster/other', READER)).status, 404);
  } finally {
    await closeAll([held]);
  }
});

test('/metrics of a cluster node: Redis up, and a session taken over from another node counts a replied request', {
  skip: skipWithoutRedis,
}, async () => {
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  assert.equal(sample(await metrics(a.http), 'culex_cluster_redis_up'), 1);
  const replied = 'culex_cluster_requests_total{outcome="replied"}';
  const before = sample(await metrics(b.http), replied)!;
  assert.equal(typeof before, 'number');
  const options = { clientId: 'metered-takeover', clean: false, protocolVersion: 4 as const };
  const first = await client(a.node, options);
  const second = await client(b.node, options);
  try {
    await until('the first connection closed by the takeover', () => first.mqtt.connected === false);
    const text = await metrics(b.http);
    assert.ok(sample(text, replied)! >= before + 1, `b's replied requests: ${sample(text, replied)}`);
    assert.equal(sample(text, 'culex_cluster_requests_total{outcome="timed_out"}'), 0);
  } finally {
    await closeAll([first, second]);
  }
});

test('a node that stops leaves its peers figures: culex_cluster_nodes 1 and its row gone or dead', {
  skip: skipWithoutRedis,
}, async () => {
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const broker = b.node.broker;
  const reaped = sample(await metrics(a.http), 'culex_cluster_dead_nodes_reaped_total');
  const adopted = sample(await metrics(a.http), 'culex_cluster_sessions_adopted_total')!;
  assert.equal(reaped, 0);
  // A persistent session left on b (offline): a adopts it when it reaps b.
  const held = await client(b.node, { clientId: 'left-on-b', clean: false, protocolVersion: 4 });
  await held.mqtt.subscribeAsync('left/#', { qos: 1 });
  await closeAll([held]);
  // b's control stream (its takeover request's reply came there) is removed by its reaper.
  const control = b.node.broker.cluster!.link.keys.control('b');
  assert.equal(await a.node.broker.cluster!.link.redis.exists(control), 1);
  await broker.stop();
  nodes.pop();
  // Its own registry no longer has the cluster's source.
  assert.equal(
    broker.metrics.collect().some((f) => f.name.startsWith('culex_cluster_')),
    false,
  );
  await until('a to see b gone', () => a.node.broker.cluster!.link.aliveNodes().length === 0);
  // b left cleanly (its beat set in the past): a reaps it at its next beat.
  let text = await metrics(a.http);
  for (const end = Date.now() + 8000; Date.now() < end; text = await metrics(a.http)) {
    if (sample(text, 'culex_cluster_dead_nodes_reaped_total') === 1) break;
    await sleep(50);
  }
  assert.equal(sample(text, 'culex_cluster_dead_nodes_reaped_total'), 1);
  assert.equal(await a.node.broker.cluster!.link.redis.exists(control), 0, `${control} left behind`);
  assert.ok(sample(text, 'culex_cluster_sessions_adopted_total')! >= adopted + 1, 'left-on-b adopted by a');
  assert.equal(sample(text, 'culex_cluster_nodes'), 1);
  assert.equal(sample(text, 'culex_cluster_node_up{node="b",self="false"}'), undefined);
  const { nodes: rows } = await httpJson<{ nodes: NodeRow[] }>(a.http, '/api/culex/v1/cluster/nodes', READER);
  assert.deepEqual(rows[0], { ...rows[0], node: 'a', self: true, alive: true });
  for (const r of rows.slice(1)) assert.equal(r.alive, false);
});

test('GET /api/culex/v1/cluster/nodes on a single broker: 404 not a cluster, and no culex_cluster_ figures', async () => {
  const ops = await startOps(['allow_anonymous true'], [`http_api_token_file ${tokenFile()}`]);
  try {
    const answer = await httpRequest(ops.httpPort, '/api/culex/v1/cluster/nodes', READER);
    assert.equal(answer.status, 404);
    assert.deepEqual(JSON.parse(answer.body), { error: 'not a cluster' });
    assert.doesNotMatch(await metrics(ops.httpPort), /culex_cluster_/);
  } finally {
    await ops.stop();
  }
});
