// The Culex-only cluster_* options: read into CulexConfig.cluster with their defaults, and refused with the file,
// line and reason when wrong (as every other option of the table).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_FORMAT } from '../../src/cluster/cluster-format.js';
import { parseConfigText } from '../../src/config/parse.js';
import { BrokerStartError, createBroker, parseConfig } from '../../src/index.js';
import { refusal } from '../helpers/config-refusal.js';
import { freePort } from '../helpers/net.js';
import { askRedis, requireRedis, startRedis } from '../helpers/redis.js';

test('without cluster_* lines there is no cluster', () => {
  assert.equal(parseConfigText('listener 1883\n', 'c.conf').cluster, undefined);
});

test('cluster options are read with their defaults', () => {
  const config = parseConfigText(
    [
      'listener 1883',
      'cluster_redis_url redis://127.0.0.1:6380/2',
      'cluster_redis_password s3cret',
      'cluster_node_id node-1',
      'cluster_heartbeat_interval 250ms',
      'cluster_node_timeout 2s',
      'cluster_queue_limit 500',
      '',
    ].join('\n'),
    'c.conf',
  );
  assert.deepEqual(config.cluster, {
    redisUrl: 'redis://127.0.0.1:6380/2',
    password: 's3cret',
    nodeId: 'node-1',
    keyPrefix: 'culex:',
    heartbeatInterval: 250,
    nodeTimeout: 2000,
    queueLimit: 500,
    queueBytes: 64 * 1024 * 1024,
    inboxMaxLen: 100_000,
  });
});

test('a rediss:// URL or a TLS file turns TLS on; cluster_redis_tls false with rediss:// is refused', () => {
  const tls = parseConfigText('cluster_redis_url rediss://127.0.0.1:6380\n', 'c.conf').cluster?.tls;
  assert.deepEqual(tls, {});
  const files = parseConfigText(
    'cluster_redis_url redis://127.0.0.1:6380\ncluster_redis_cafile /x/ca.pem\n',
    'c.conf',
  ).cluster?.tls;
  assert.deepEqual(files, { cafile: '/x/ca.pem' });
  assert.match(
    refusal('cluster_redis_tls false\ncluster_redis_url rediss://127.0.0.1:1\n'),
    /^c\.conf:1: option "cluster_redis_tls": a rediss:\/\/ URL needs TLS/,
  );
  assert.match(
    refusal('cluster_redis_url redis://127.0.0.1:1\ncluster_redis_certfile /c.pem\n'),
    /certfile" and "cluster_redis_keyfile" go together/,
  );
});

test('wrong cluster values are refused with file, line and reason', () => {
  assert.match(
    refusal('cluster_node_id a\n'),
    /^c\.conf:1: option "cluster_node_id": cluster options need "cluster_redis_url"/,
  );
  assert.match(
    refusal('\ncluster_redis_url http://x\n'),
    /^c\.conf:2: option "cluster_redis_url": expected a redis:\/\//,
  );
  assert.match(refusal('cluster_redis_url nothing\n'), /is not a URL/);
  assert.match(
    refusal('cluster_node_id bad/id\n'),
    /^c\.conf:1: option "cluster_node_id": a node id is 1 to 64/,
  );
  assert.match(refusal('cluster_heartbeat_interval 10ms\n'), /10ms is out of range/);
  assert.match(refusal('cluster_heartbeat_interval soon\n'), /expected a duration/);
  assert.match(refusal('cluster_queue_limit -1\n'), /out of range/);
  assert.match(
    refusal(
      'cluster_redis_url redis://127.0.0.1:1\ncluster_heartbeat_interval 1s\ncluster_node_timeout 1500ms\n',
    ),
    /^c\.conf:3: option "cluster_node_timeout": the node timeout \(1500ms\) must be at least twice/,
  );
});

test('createBroker refuses to start when Redis cannot be reached, naming it and the cause', async () => {
  const port = await freePort();
  const text = `listener ${await freePort()} 127.0.0.1\nlog_dest none\ncluster_redis_url redis://127.0.0.1:${port}\n`;
  await assert.rejects(createBroker(parseConfig(text)), (err: unknown) => {
    assert.ok(err instanceof BrokerStartError);
    assert.equal(err.stage, 'cluster');
    assert.match(
      err.message,
      new RegExp(`cannot connect to Redis at redis://127.0.0.1:${port}: .*ECONNREFUSED`),
    );
    return true;
  });
});

test('cluster_redis_password authenticates to a Redis with requirepass; a wrong one is refused', {
  skip: requireRedis(),
}, async () => {
  const redis = await startRedis({ password: 'right' });
  try {
    const base = `log_dest none\ncluster_redis_url ${redis.url}\ncluster_node_id pw\n`;
    const ok = await createBroker(
      parseConfig(`listener ${await freePort()} 127.0.0.1\n${base}cluster_redis_password right\n`),
    );
    try {
      assert.equal(ok.cluster?.nodeId, 'pw');
    } finally {
      await ok.stop();
    }
    await assert.rejects(
      createBroker(
        parseConfig(`listener ${await freePort()} 127.0.0.1\n${base}cluster_redis_password wrong\n`),
      ),
      /WRONGPASS|invalid username-password/,
    );
  } finally {
    await redis.stop();
  }
});

test('cluster data format: the first node records it; a node finding another format refuses to join, saying why', {
  skip: requireRedis(),
}, async () => {
  const redis = await startRedis();
  try {
    const port = await freePort();
    const conf = (prefix: string) =>
      `listener ${port} 127.0.0.1\nlog_dest none\ncluster_redis_url ${redis.url}\ncluster_key_prefix ${prefix}\n`;
    const first = await createBroker(parseConfig(conf('fmt-new:')));
    try {
      assert.equal(await askRedis(redis.port, (r) => r.get('fmt-new:format')), String(CLUSTER_FORMAT));
    } finally {
      await first.stop();
    }
    // Data of another release under the prefix: nothing of it is read, and it is left as it was.
    await askRedis(redis.port, (r) => r.mset('fmt-old:format', '0', 'fmt-old:owner', 'kept'));
    await assert.rejects(createBroker(parseConfig(conf('fmt-old:'))), (err: unknown) => {
      assert.ok(err instanceof BrokerStartError);
      assert.equal(err.stage, 'cluster');
      assert.match(
        err.message,
        new RegExp(
          `^Cluster: the cluster data under "fmt-old:" at redis://127\\.0\\.0\\.1:${redis.port} is in format "0"; this culex reads format ${CLUSTER_FORMAT} only\\.`,
        ),
      );
      return true;
    });
    assert.equal(await askRedis(redis.port, (r) => r.get('fmt-old:format')), '0');
    assert.equal(await askRedis(redis.port, (r) => r.get('fmt-old:owner')), 'kept');
    assert.equal(await askRedis(redis.port, (r) => r.exists('fmt-old:epoch')), 0);
  } finally {
    await redis.stop();
  }
});
