// /metrics beyond the core's counters: the persistence commit latency histogram (fed by culex:commit from group
// commit) and families added through the broker's metrics registry (the hook bridges and a cluster use).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { clusterMetrics } from '../../src/cluster/cluster-metrics.js';
import { tempDir } from '../helpers/processes.js';
import { httpRequest } from './http-client.js';
import { startOps } from './ops-broker.js';

function samples(text: string, name: string): [string, number][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .map((l): [string, number] => {
      const at = l.lastIndexOf(' ');
      return [l.slice(0, at), Number(l.slice(at + 1))];
    });
}

test('culex_persistence_commit_seconds: a histogram of the commits a persistent broker made', async () => {
  const dir = tempDir('culex-commit-metrics-');
  const ops = await startOps(['allow_anonymous true', 'persistence true', `persistence_location ${dir}/`]);
  try {
    const sub = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: ops.mqttPort,
      clientId: 'keeper',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 600 },
      reconnectPeriod: 0,
    });
    await sub.subscribeAsync('kept/#', { qos: 1 });
    await sub.endAsync();
    const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: ops.mqttPort, reconnectPeriod: 0 });
    for (let i = 0; i < 20; i++) await pub.publishAsync('kept/x', `m${i}`, { qos: 1 });
    await pub.endAsync();
    const text = (await httpRequest(ops.httpPort, '/metrics')).body;
    assert.match(text, /^# TYPE culex_persistence_commit_seconds histogram$/m);
    const buckets = samples(text, 'culex_persistence_commit_seconds_bucket');
    assert.equal(buckets.at(-1)?.[0], 'culex_persistence_commit_seconds_bucket{le="+Inf"}');
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]![1] >= buckets[i - 1]![1], 'cumulative');
    const [[, count]] = samples(text, 'culex_persistence_commit_seconds_count') as [[string, number]];
    const [[, sum]] = samples(text, 'culex_persistence_commit_seconds_sum') as [[string, number]];
    // Each acknowledged QoS 1 message was committed before its PUBACK left: at least one commit each.
    assert.ok(count >= 20, `commits ${count}`);
    assert.equal(buckets.at(-1)?.[1], count);
    assert.ok(sum > 0 && sum < count, `sum ${sum}`);
    assert.deepEqual(samples(text, 'culex_persistence_commit_failures_total'), [
      ['culex_persistence_commit_failures_total', 0],
    ]);
  } finally {
    await ops.stop();
  }
});

test('broker.metrics: a registered source shows at each scrape, a throwing one costs only itself', async () => {
  const ops = await startOps(['allow_anonymous true']);
  try {
    let peers = 2;
    const remove = ops.broker.metrics.add({
      collect: () => [
        {
          name: 'culex_cluster_nodes',
          type: 'gauge',
          help: 'Cluster nodes by state.',
          samples: [[{ state: 'up' }, peers]],
        },
      ],
    });
    ops.broker.metrics.add({
      collect: () => {
        throw new Error('broken source');
      },
    });
    let text = (await httpRequest(ops.httpPort, '/metrics')).body;
    assert.match(
      text,
      /^# HELP culex_cluster_nodes Cluster nodes by state\.\n# TYPE culex_cluster_nodes gauge\nculex_cluster_nodes\{state="up"\} 2$/m,
    );
    peers = 3;
    text = (await httpRequest(ops.httpPort, '/metrics')).body;
    assert.match(text, /^culex_cluster_nodes\{state="up"\} 3$/m);
    assert.match(text, /^culex_build_info/m);
    remove();
    text = (await httpRequest(ops.httpPort, '/metrics')).body;
    assert.doesNotMatch(text, /culex_cluster_nodes/);
  } finally {
    await ops.stop();
  }
});

test('cluster metrics: nodes alive, one culex_cluster_node_up per node, forwarding counters', async () => {
  const ops = await startOps(['allow_anonymous true']);
  try {
    let peers = ['node-b', 'node-c'];
    const counters = { forwarded: 7, received: 5, dropped: 0 };
    let redisUp = true;
    const requests = { replied: 3, failed: 1, timedOut: 0 };
    ops.broker.metrics.add(
      clusterMetrics({
        nodeId: 'node-a',
        peers: () => peers,
        counters: () => counters,
        redisUp: () => redisUp,
        requests: () => requests,
        adoptions: () => ({ nodes: 1, sessions: 4, wills: 2, drained: 17 }),
        routeConfirmTimeouts: () => 6,
      }),
    );
    let text = (await httpRequest(ops.httpPort, '/metrics')).body;
    assert.deepEqual(samples(text, 'culex_cluster_node'), [
      ['culex_cluster_nodes', 3],
      ['culex_cluster_node_up{node="node-a",self="true"}', 1],
      ['culex_cluster_node_up{node="node-b",self="false"}', 1],
      ['culex_cluster_node_up{node="node-c",self="false"}', 1],
    ]);
    assert.match(text, /^culex_cluster_messages_forwarded_total 7$/m);
    assert.match(text, /^culex_cluster_redis_up 1$/m);
    assert.deepEqual(samples(text, 'culex_cluster_requests_total'), [
      ['culex_cluster_requests_total{outcome="replied"}', 3],
      ['culex_cluster_requests_total{outcome="failed"}', 1],
      ['culex_cluster_requests_total{outcome="timed_out"}', 0],
    ]);
    assert.match(text, /^culex_cluster_dead_nodes_reaped_total 1$/m);
    assert.match(text, /^culex_cluster_sessions_adopted_total 4$/m);
    assert.match(text, /^culex_cluster_orphan_wills_total 2$/m);
    assert.match(text, /^culex_cluster_inbox_drained_total 17$/m);
    assert.match(text, /^culex_cluster_route_confirm_timeouts_total 6$/m);
    peers = ['node-c'];
    counters.received = 9;
    redisUp = false;
    requests.timedOut = 2;
    text = (await httpRequest(ops.httpPort, '/metrics')).body;
    assert.match(text, /^culex_cluster_nodes 2$/m);
    assert.doesNotMatch(text, /node-b/);
    assert.match(text, /^culex_cluster_messages_received_total 9$/m);
    assert.match(text, /^culex_cluster_redis_up 0$/m);
    assert.match(text, /^culex_cluster_requests_total\{outcome="timed_out"\} 2$/m);
  } finally {
    await ops.stop();
  }
});
