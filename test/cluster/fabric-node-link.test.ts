// The cluster's node-to-node channel on a real redis-server: requests get their handler's reply (or its error,
// or a timeout), one-way messages reach the right node with their sender, and a node that stops beating is
// declared dead on every survivor once, with exactly one reaper that runs the reap tasks and removes it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/broker/logger.js';
import { type ClusterOptions, DEFAULT_CLUSTER_OPTIONS } from '../../src/cluster/cluster-options.js';
import { NodeLink } from '../../src/cluster/node-link.js';
import { sleep } from '../helpers/net.js';
import { redisForFile, requireRedis } from '../helpers/redis.js';

const skip = requireRedis();
const redis = redisForFile(skip);
function options(prefix: string): ClusterOptions {
  return {
    ...DEFAULT_CLUSTER_OPTIONS,
    redisUrl: redis.url,
    keyPrefix: prefix,
    heartbeatInterval: 100,
    nodeTimeout: 400,
  };
}

/** Node links with these ids, started together on the key prefix `prefix`. */
function startLinks(prefix: string, ids: readonly string[]): Promise<NodeLink[]> {
  const o = options(prefix);
  return Promise.all(ids.map((id) => NodeLink.start({ options: o, nodeId: id, logger: silentLogger })));
}

async function until(what: string, check: () => boolean, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('request() resolves with the reply of the target node, rejects with its error or after the timeout', {
  skip,
}, async () => {
  const o = options('rr:');
  const a = await NodeLink.start({ options: o, nodeId: 'a', logger: silentLogger });
  const b = await NodeLink.start({ options: o, nodeId: 'b', logger: silentLogger });
  try {
    a.onMessage('echo', (body, from) => Buffer.from(`${body.toString()} from ${from}`));
    a.onMessage('slow', async (body) => {
      await sleep(30);
      return `${body.toString()} later`;
    });
    a.onMessage('fail', () => {
      throw new Error('refused here');
    });
    const seen: string[] = [];
    b.onMessage('note', (body, from) => {
      seen.push(`${from}:${body.toString()}`);
    });
    assert.equal((await b.request('a', 'echo', 'hi', 2000)).toString(), 'hi from b');
    assert.equal((await b.request('a', 'slow', Buffer.from('x'), 2000)).toString(), 'x later');
    await assert.rejects(b.request('a', 'fail', '', 2000), /refused here/);
    await assert.rejects(b.request('nobody', 'echo', 'hi', 200), /no reply from node nobody/);
    await a.send('b', 'note', 'one');
    await a.send('b', 'note', 'two');
    await until('both notes', () => seen.length === 2);
    assert.deepEqual(seen, ['a:one', 'a:two']);
    assert.deepEqual(a.aliveNodes(), ['b']);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a node id already held by a live node is refused', { skip }, async () => {
  const o = options('dup:');
  const a = await NodeLink.start({ options: o, nodeId: 'same', logger: silentLogger });
  try {
    await assert.rejects(
      NodeLink.start({ options: o, nodeId: 'same', logger: silentLogger }),
      /node id "same" is in use by a live node/,
    );
  } finally {
    await a.stop();
  }
});

test('a node that stops beating is dead for every survivor once, with one reaper that runs the reap tasks', {
  skip,
}, async () => {
  const nodes = await startLinks('dead:', ['a', 'b', 'c']);
  const [a, b, c] = nodes as [NodeLink, NodeLink, NodeLink];
  const deaths: string[] = [];
  const reaped: string[] = [];
  for (const n of [a, b]) {
    n.on('nodeDead', (id, reaper) => deaths.push(`${n.nodeId}:${id}:${reaper}`));
    n.addReapTask((id) => {
      reaped.push(`${n.nodeId}:${id}`);
    });
  }
  try {
    await until('everyone sees everyone', () => a.aliveNodes().length === 2 && b.aliveNodes().length === 2);
    const silentAt = Date.now();
    await c.stop({ leave: false });
    await until('both survivors hear of the death', () => deaths.length === 2);
    const took = Date.now() - silentAt;
    assert.ok(took >= 300, `declared dead after ${took} ms, before the 400 ms timeout`);
    assert.ok(took < 2000, `declared dead after ${took} ms`);
    assert.equal(deaths.filter((d) => d.endsWith(':true')).length, 1, `one reaper: ${deaths}`);
    assert.equal(reaped.length, 1);
    assert.match(reaped[0]!, /:c$/);
    await until('c removed from the members', () => !a.isAlive('c') && !b.isAlive('c'));
    await sleep(300);
    assert.equal(deaths.length, 2, 'declared dead once');
    assert.equal(await a.redis.zscore('dead:nodes', 'c'), null);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a Redis that stalls past the node timeout (connections kept) makes no one dead: every node was held up alike', {
  skip,
}, async () => {
  const nodes = await startLinks('stall:', ['a', 'b', 'c']);
  const deaths: string[] = [];
  for (const n of nodes) n.on('nodeDead', (id) => deaths.push(`${n.nodeId}:${id}`));
  try {
    await until('everyone sees everyone', () => nodes.every((n) => n.aliveNodes().length === 2));
    // SIGSTOP keeps the TCP connections open: the beats queue in the clients and all land at once after SIGCONT,
    // each showing the others 1 s stale, as after a Redis Cluster master's failover.
    redis.signal('SIGSTOP');
    await sleep(1000);
    redis.signal('SIGCONT');
    await sleep(1000);
    assert.deepEqual(deaths, [], 'nodes declared dead after a stall that held every node up');
    assert.ok(nodes.every((n) => n.aliveNodes().length === 2));
  } finally {
    redis.signal('SIGCONT');
    for (const n of nodes) await n.stop();
  }
});

test('a cleanly stopped node is reaped at the next beat, without waiting for the timeout', {
  skip,
}, async () => {
  const o = { ...options('leave:'), nodeTimeout: 1000 };
  const a = await NodeLink.start({ options: o, nodeId: 'a', logger: silentLogger });
  const b = await NodeLink.start({ options: o, nodeId: 'b', logger: silentLogger });
  try {
    await until('a sees b', () => a.aliveNodes().includes('b'));
    // The survivor judges no one during its first timeout (nobody could beat while it was away).
    await sleep(1100);
    const dead = new Promise<string>((resolve) => a.once('nodeDead', (id) => resolve(id)));
    const at = Date.now();
    await b.stop();
    assert.equal(await dead, 'b');
    assert.ok(Date.now() - at < 700, 'reaped before the 1 s timeout');
  } finally {
    await a.stop();
  }
});

test('an inbox entry written twice with one id (a MULTI sent again after a reconnection) is handled once', {
  skip,
}, async () => {
  const o = options('once:');
  const a = await NodeLink.start({ options: o, nodeId: 'a', logger: silentLogger });
  const b = await NodeLink.start({ options: o, nodeId: 'b', logger: silentLogger });
  try {
    const seen: string[] = [];
    a.onMessage('pub', (body) => {
      seen.push(body.toString());
    });
    // As Redis holds it after a MULTI applied, its reply lost, and the MULTI applied again.
    for (let i = 0; i < 2; i++) {
      const multi = b.redis.multi();
      b.appendSend(multi, 'a', 'pub', 'first', '7.1');
      b.appendSend(multi, 'a', 'pub', 'second', '7.2');
      b.appendSend(multi, 'a', 'pub', 'no id');
      await multi.exec();
    }
    await until('the entries', () => seen.length >= 4);
    await sleep(100);
    assert.deepEqual(seen, ['first', 'second', 'no id', 'no id']);
  } finally {
    await a.stop();
    await b.stop();
  }
});
