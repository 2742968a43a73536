// The Sentinel and WAIT options (cluster_redis_sentinel*, cluster_redis_wait_*): read into CulexConfig.cluster
// and into ioredis' options, and refused with the file, line and reason when wrong or inconsistent.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRedis, redisOptions } from '../../src/cluster/redis-connect.js';
import { parseConfigText } from '../../src/config/parse.js';
import { BrokerStartError, createBroker, parseConfig } from '../../src/index.js';
import { refusal } from '../helpers/config-refusal.js';
import { freePort } from '../helpers/net.js';
import { requireRedis } from '../helpers/redis.js';
import { startSentinelSet } from '../helpers/redis-sentinel.js';

test('Sentinel: addresses (repeated lines or comma lists), master name and credentials', () => {
  const config = parseConfigText(
    [
      'listener 1883',
      'cluster_redis_sentinel 127.0.0.1:26379,127.0.0.1:26380',
      'cluster_redis_sentinel [::1]:26381',
      'cluster_redis_sentinel_master mymaster',
      'cluster_redis_sentinel_password sentinel-secret',
      'cluster_redis_password data-secret',
      '',
    ].join('\n'),
    'c.conf',
  );
  const cluster = config.cluster!;
  assert.equal(cluster.redisUrl, undefined);
  assert.deepEqual(cluster.sentinel, {
    sentinels: [
      { host: '127.0.0.1', port: 26379 },
      { host: '127.0.0.1', port: 26380 },
      { host: '::1', port: 26381 },
    ],
    master: 'mymaster',
    password: 'sentinel-secret',
  });
  const o = redisOptions(cluster, 'culex:n:commands');
  assert.deepEqual(o.sentinels, cluster.sentinel?.sentinels);
  assert.equal(o.name, 'mymaster');
  assert.equal(o.role, 'master');
  assert.equal(o.sentinelPassword, 'sentinel-secret');
  assert.equal(o.password, 'data-secret');
  assert.equal(o.host, undefined, 'no fixed server: the Sentinels name it');
  assert.equal(
    describeRedis(cluster),
    'Sentinel master "mymaster" (127.0.0.1:26379, 127.0.0.1:26380, [::1]:26381)',
  );
  assert.ok(!describeRedis(cluster).includes('secret'));
});

test('WAIT: replicas and timeout (default 1 s); 0 replicas means no WAIT', () => {
  const url = 'cluster_redis_url redis://127.0.0.1:6379\n';
  assert.deepEqual(parseConfigText(`${url}cluster_redis_wait_replicas 2\n`, 'c.conf').cluster?.wait, {
    replicas: 2,
    timeoutMs: 1000,
  });
  assert.deepEqual(
    parseConfigText(`${url}cluster_redis_wait_replicas 1\ncluster_redis_wait_timeout 250ms\n`, 'c.conf')
      .cluster?.wait,
    { replicas: 1, timeoutMs: 250 },
  );
  assert.equal(parseConfigText(`${url}cluster_redis_wait_replicas 0\n`, 'c.conf').cluster?.wait, undefined);
});

test('inconsistent or wrong Sentinel and WAIT lines are refused with file, line and reason', () => {
  const url = 'cluster_redis_url redis://127.0.0.1:6379\n';
  assert.match(
    refusal('cluster_redis_sentinel 127.0.0.1:26379\n'),
    /^c\.conf:1: option "cluster_redis_sentinel": Sentinel needs "cluster_redis_sentinel_master"/,
  );
  assert.match(
    refusal(`${url}cluster_redis_sentinel 127.0.0.1:26379\ncluster_redis_sentinel_master m\n`),
    /^c\.conf:1: option "cluster_redis_url": "cluster_redis_url" and "cluster_redis_sentinel" are alternatives/,
  );
  assert.match(
    refusal(`${url}\ncluster_redis_sentinel_master m\n`),
    /^c\.conf:3: option "cluster_redis_sentinel_master": "cluster_redis_sentinel_master" needs "cluster_redis_sentinel" lines/,
  );
  assert.match(
    refusal(`${url}cluster_redis_sentinel_password x\n`),
    /^c\.conf:2: option "cluster_redis_sentinel_password": .* needs "cluster_redis_sentinel" lines/,
  );
  assert.match(
    refusal('cluster_redis_sentinel localhost\n'),
    /^c\.conf:1: option "cluster_redis_sentinel": "localhost" is not a Sentinel address \(expected host:port/,
  );
  assert.match(refusal('cluster_redis_sentinel 127.0.0.1:70000\n'), /is not a Sentinel address/);
  assert.match(refusal('cluster_redis_sentinel 127.0.0.1:1,\n'), /"" is not a Sentinel address/);
  const many = Array.from({ length: 17 }, (_, i) => `127.0.0.1:${26000 + i}`).join(',');
  assert.match(refusal(`cluster_redis_sentinel ${many}\n`), /at most 16 Sentinels/);
  assert.match(
    refusal('cluster_node_id a\n'),
    /cluster options need "cluster_redis_url" \(the Redis server the nodes share\) or "cluster_redis_sentinel"/,
  );
  assert.match(
    refusal(`${url}cluster_redis_wait_timeout 1s\n`),
    /^c\.conf:2: option "cluster_redis_wait_timeout": "cluster_redis_wait_timeout" needs "cluster_redis_wait_replicas"/,
  );
  assert.match(
    refusal(`${url}cluster_redis_wait_replicas 101\n`),
    /^c\.conf:2: option "cluster_redis_wait_replicas": /,
  );
  assert.match(
    refusal(`${url}cluster_redis_wait_replicas 1\ncluster_redis_wait_timeout 0\n`),
    /^c\.conf:3: option "cluster_redis_wait_timeout": 0 is out of range \(10ms\.\.60s\)/,
  );
});

async function refusedStart(line: string, expected: RegExp): Promise<void> {
  const text = `listener ${await freePort()} 127.0.0.1\nlog_dest none\ncluster_node_id r\n${line}\n`;
  await assert.rejects(createBroker(parseConfig(text)), (err: unknown) => {
    assert.ok(err instanceof BrokerStartError);
    assert.equal(err.stage, 'cluster');
    assert.match(err.message, expected);
    return true;
  });
}

test('a Sentinel given as cluster_redis_url is refused; through cluster_redis_sentinel the node starts', {
  skip: requireRedis(),
}, async () => {
  const set = await startSentinelSet(0, 1);
  try {
    const sentinel = `127.0.0.1:${set.sentinelPorts[0]}`;
    await refusedStart(`cluster_redis_url redis://${sentinel}`, /is a Sentinel, not a Redis server/);
    await refusedStart(
      `cluster_redis_sentinel ${sentinel}\ncluster_redis_sentinel_master nobody`,
      /cannot connect to Redis at Sentinel master "nobody" \(127\.0\.0\.1:\d+\)/,
    );
    const text = `listener ${await freePort()} 127.0.0.1\nlog_dest none\ncluster_node_id s1\n${set.confLines.join('\n')}\n`;
    const broker = await createBroker(parseConfig(text));
    try {
      assert.equal(broker.cluster?.nodeId, 's1');
      const master = broker.cluster?.link.redis.options;
      assert.ok(master !== undefined && 'name' in master);
      assert.equal(master.name, 'culex');
    } finally {
      await broker.stop();
    }
  } finally {
    await set.stop();
  }
});

test('cluster_redis_cluster: every key under one hash tag, WAIT sent to that slot; needs cluster_redis_url', () => {
  const url = 'cluster_redis_url redis://127.0.0.1:7000\n';
  const on = parseConfigText(
    `${url}cluster_redis_cluster true\ncluster_redis_wait_replicas 1\n`,
    'c.conf',
  ).cluster;
  assert.equal(on?.redisCluster, true);
  assert.equal(on?.keyPrefix, '{culex:}');
  assert.equal(on?.wait?.slotKey, '{culex:}nodes');
  assert.match(describeRedis(on!), /^Redis Cluster redis:\/\/127\.0\.0\.1:7000/);
  const own = parseConfigText(
    `${url}cluster_redis_cluster true\ncluster_key_prefix {mq}:a:\n`,
    'c.conf',
  ).cluster;
  assert.equal(own?.keyPrefix, '{mq}:a:');
  assert.equal(parseConfigText(url, 'c.conf').cluster?.keyPrefix, 'culex:');
  assert.match(
    refusal(
      'cluster_redis_sentinel 127.0.0.1:26379\ncluster_redis_sentinel_master m\ncluster_redis_cluster true\n',
    ),
    /"cluster_redis_cluster" needs "cluster_redis_url"/,
  );
  assert.match(refusal(`${url.replace('7000', '7000/2')}cluster_redis_cluster true\n`), /database 0 only/);
  assert.equal(
    parseConfigText(`${url.replace('7000', '7000/0')}cluster_redis_cluster true\n`, 'c.conf').cluster
      ?.redisCluster,
    true,
  );
});
