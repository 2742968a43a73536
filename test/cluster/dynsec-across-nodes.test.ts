// The dynamic-security plugin in a cluster: a $CONTROL/dynamic-security/v1 change made through one node should
// apply on every node. Today it does not (docs/cluster.md, "Limits and what is per node"): each node keeps its own
// copy in memory, so a client created through node A is refused by node B, and with one shared file (workers N,
// or one file on shared storage) the next change made through B rewrites the file from B's copy, dropping A's
// change. `todo` until dynsec state is shared through Redis; it runs and prints what it saw.

import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { clientEntry } from '../control/dynsec-fixture.js';
import { startNode, type TestNode } from '../helpers/cluster-nodes.js';
import { sleep } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { requireRedis, startRedis } from '../helpers/redis.js';

const skip = requireRedis();

function login(node: TestNode, username: string, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = mqtt.connect({ host: '127.0.0.1', port: node.port, username, password, reconnectPeriod: 0 });
    c.once('connect', () => {
      c.end(true);
      resolve(true);
    });
    c.once('error', () => {
      c.end(true);
      resolve(false);
    });
  });
}

async function command(node: TestNode, body: object): Promise<void> {
  const admin: MqttClient = await mqtt.connectAsync({
    host: '127.0.0.1',
    port: node.port,
    username: 'admin',
    password: 'a',
    reconnectPeriod: 0,
  });
  await admin.publishAsync('$CONTROL/dynamic-security/v1', JSON.stringify({ commands: [body] }), { qos: 1 });
  await admin.endAsync();
}

async function fileHas(file: string, name: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if (readFileSync(file, 'utf8').includes(`"${name}"`)) return true;
    await sleep(25);
  }
  return false;
}

test('a dynamic-security change made through one node applies on every node (one shared file)', {
  skip,
  todo: 'dynamic-security state is per node (docs/cluster.md)',
  timeout: 30_000,
}, async () => {
  const redis = await startRedis();
  const dir = tempDir('culex-dynsec-cluster-');
  const file = join(dir, 'dynsec.json');
  const admin = { rolename: 'admin' };
  writeFileSync(
    file,
    JSON.stringify({
      clients: [clientEntry({ username: 'admin', password: 'a', roles: [admin] })],
      roles: [
        {
          ...admin,
          acls: [{ acltype: 'publishClientSend', topic: '$CONTROL/#', allow: true }],
        },
      ],
      groups: [],
    }),
  );
  const extra = ['allow_anonymous false', 'plugin culex:dynamic-security', `plugin_opt_config_file ${file}`];
  const nodes: TestNode[] = [];
  try {
    nodes.push(await startNode('dyn-a', redis.url, 'dyn:', extra));
    nodes.push(await startNode('dyn-b', redis.url, 'dyn:', extra));
    const [a, b] = nodes as [TestNode, TestNode];
    await command(a, { command: 'createClient', username: 'u1', password: 'p1' });
    assert.ok(await fileHas(file, 'u1'), 'node A saved its change');
    assert.equal(await login(a, 'u1', 'p1'), true, 'node A knows u1');
    const onB = await login(b, 'u1', 'p1');
    await command(b, { command: 'createClient', username: 'u2', password: 'p2' });
    assert.ok(await fileHas(file, 'u2'), 'node B saved its change');
    const kept = readFileSync(file, 'utf8').includes('"u1"');
    process.stdout.write(
      `dynsec across nodes: u1 accepted on B ${onB}; u1 kept in the file after B's change ${kept}\n`,
    );
    assert.equal(onB, true, 'a client created through A logs in on B');
    assert.equal(kept, true, "B's change keeps A's in the shared file");
  } finally {
    for (const n of nodes) await n.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
