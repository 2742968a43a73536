// `workers N`: QoS 0 copies a worker drops on its direct link to another worker (that link holds LINK_MAX_BYTES
// unsent, or went down since the copies were made) are counted where the other cluster drops are: in
// culex_cluster_messages_dropped_total (/metrics) and $SYS/broker/cluster/messages/dropped.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { silentLogger } from '../../src/broker/logger.js';
import { Message } from '../../src/broker/message.js';
import { LINK_MAX_BYTES, WorkerLinks, workerLinksSupported } from '../../src/cluster/worker-links.js';
import { createBroker, parseConfig } from '../../src/index.js';
import type { MetricFamily } from '../../src/ports/metrics.js';
import { freePort, waitFor } from '../helpers/net.js';
import { requireRedis, startRedis } from '../helpers/redis.js';

const noRedis = requireRedis();
const skip = !workerLinksSupported()
  ? 'direct links need the Linux abstract socket namespace'
  : noRedis !== false
    ? noRedis
    : false;

function droppedMetric(families: readonly MetricFamily[]): number | undefined {
  return families.find((f) => f.name === 'culex_cluster_messages_dropped_total')?.samples[0]?.[1];
}

test('workers: QoS 0 copies dropped on a full direct link count in culex_cluster_messages_dropped_total', {
  skip,
  timeout: 30_000,
}, async () => {
  const redis = await startRedis();
  const name = randomBytes(8).toString('hex');
  const token = randomBytes(16).toString('hex');
  const nodes = ['drop-w1', 'drop-w2'];
  const config = parseConfig(
    [
      `listener ${await freePort()} 127.0.0.1`,
      'allow_anonymous true',
      'log_dest none',
      `cluster_redis_url ${redis.url}`,
      'cluster_node_id drop-w1',
      `cluster_key_prefix d${process.pid}:`,
      '',
    ].join('\n'),
  );
  config.cluster!.workerLinks = { name, token, self: 1, nodes };
  const broker = await createBroker(config, { logger: silentLogger });
  // Worker 2: only its end of the link, which reads nothing while this test runs synchronously.
  const peer = await WorkerLinks.start({ name, token, self: 2, nodes }, silentLogger);
  try {
    const links = broker.cluster!.links!;
    assert.ok(await waitFor(() => links.ready('drop-w2') && peer.ready('drop-w1'), 5000), 'link up');
    assert.equal(droppedMetric(broker.metrics.collect()), 0);

    // More than LINK_MAX_BYTES in one tick: written (queued) whole; the kernel takes a few hundred KiB of it.
    const payload = Buffer.alloc(64 * 1024, 0x61);
    const copies = Math.ceil(LINK_MAX_BYTES / payload.length) + 8;
    for (let i = 0; i < copies; i++)
      links.add('drop-w2', new Message(`d/${i}`, payload, 0, false, undefined, 'c', 0), true, undefined);
    // The next tick, before any I/O: the link still holds more than LINK_MAX_BYTES, so these 3 are dropped.
    await new Promise<void>((resolve) =>
      process.nextTick(() => {
        for (let i = 0; i < 3; i++)
          links.add(
            'drop-w2',
            new Message('d/x', Buffer.from('x'), 0, false, undefined, 'c', 0),
            true,
            undefined,
          );
        process.nextTick(resolve);
      }),
    );
    assert.equal(links.counters.sent, copies);
    assert.equal(links.counters.dropped, 3);
    assert.equal(droppedMetric(broker.metrics.collect()), 3, 'counted in /metrics');
    assert.equal(
      broker.cluster!.counters.dropped,
      3,
      'and in what $SYS/broker/cluster/messages/dropped shows',
    );
  } finally {
    await peer.stop();
    await broker.stop();
    await redis.stop();
  }
});
