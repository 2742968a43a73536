// The dynamic-security plugin in a cluster: a $CONTROL/dynamic-security/v1 change made through one node applies
// on every node (the document is shared through Redis, src/cluster/shared-state.ts). Without it each node kept
// its own copy: a client created through node A was refused by node B, and with one shared file (workers N) the
// next change made through B rewrote the file from B's stale copy, dropping A's change.

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

/** A dynsec file with one admin allowed to send $CONTROL commands. */
function writeInitial(file: string): void {
  const admin = { rolename: 'admin' };
  writeFileSync(
    file,
    JSON.stringify({
      clients: [clientEntry({ username: 'admin', password: 'a', roles: [admin] })],
      roles: [
        {
          ...admin,
          acls: [
            { acltype: 'publishClientSend', topic: '$CONTROL/#', allow: true },
            { acltype: 'subscribePattern', topic: '$CONTROL/#', allow: true },
            { acltype: 'publishClientReceive', topic: '$CONTROL/#', allow: true },
          ],
        },
      ],
      groups: [],
    }),
  );
}

function dynsecLines(file: string): string[] {
  return ['allow_anonymous false', 'plugin culex:dynamic-security', `plugin_opt_config_file ${file}`];
}

/** What a test gets from withCluster: dynsec files (written with the admin) and nodes on them. */
interface DynsecCluster {
  file(name: string): string;
  start(id: string, file: string): Promise<TestNode>;
}

/** A fresh redis-server and directory for `run`; its nodes, the server and the files are gone afterwards. */
async function withCluster(run: (cluster: DynsecCluster) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const dir = tempDir('culex-dynsec-cluster-');
  const nodes: TestNode[] = [];
  try {
    await run({
      file: (name) => {
        const file = join(dir, `${name}.json`);
        writeInitial(file);
        return file;
      },
      start: async (id, file) => {
        const node = await startNode(id, redis.url, 'dyn:', dynsecLines(file));
        nodes.push(node);
        return node;
      },
    });
  } finally {
    for (const n of nodes) await n.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

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

function adminClient(node: TestNode): Promise<MqttClient> {
  return mqtt.connectAsync({
    host: '127.0.0.1',
    port: node.port,
    username: 'admin',
    password: 'a',
    reconnectPeriod: 0,
  });
}

async function command(node: TestNode, body: object): Promise<void> {
  const admin = await adminClient(node);
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
  timeout: 30_000,
}, async () => {
  await withCluster(async (cluster) => {
    const file = cluster.file('dynsec');
    const a = await cluster.start('dyn-a', file);
    const b = await cluster.start('dyn-b', file);
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
  });
});

test("with one file per node, every node saves the change and disconnects whom it disconnects; a node started later takes the cluster's copy", {
  skip,
  timeout: 30_000,
}, async () => {
  await withCluster(async (cluster) => {
    const files = ['a', 'b', 'c'].map((n) => cluster.file(n));
    const a = await cluster.start('dyn-a', files[0]!);
    const b = await cluster.start('dyn-b', files[1]!);
    await command(a, { command: 'createClient', username: 'u1', password: 'p1' });
    assert.ok(await fileHas(files[0]!, 'u1'), 'node A saved its change');
    assert.ok(await fileHas(files[1]!, 'u1'), "node B saved A's change in its own file");
    assert.equal(await login(b, 'u1', 'p1'), true, 'a client created through A logs in on B');
    // u1 connected to A is disconnected by A when disabled through B, as Mosquitto does on one broker.
    const u1 = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: a.port,
      username: 'u1',
      password: 'p1',
      reconnectPeriod: 0,
    });
    const kicked = new Promise<boolean>((resolve) => {
      u1.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000);
    });
    await command(b, { command: 'disableClient', username: 'u1' });
    assert.equal(await kicked, true, 'disabled through B: its connection to A is closed');
    u1.end(true);
    for (let i = 0; i < 40 && (await login(a, 'u1', 'p1')); i++) await sleep(25);
    assert.equal(await login(a, 'u1', 'p1'), false, 'disabled through B: refused on A');
    // Node C's own file has no u1: the cluster's copy wins at start.
    const c = await cluster.start('dyn-c', files[2]!);
    assert.ok(await fileHas(files[2]!, 'u1'), "node C took the cluster's copy into its file");
    await command(c, { command: 'enableClient', username: 'u1' });
    for (let i = 0; i < 40 && !(await login(a, 'u1', 'p1')); i++) await sleep(25);
    assert.equal(await login(a, 'u1', 'p1'), true, 'enabled through C: accepted on A');
  });
});

/** Sends `commands` one PUBLISH each, as fast as the connection takes them, and waits for every response. */
async function burst(node: TestNode, bodies: readonly object[]): Promise<void> {
  const admin = await adminClient(node);
  let answered = 0;
  const all = new Promise<void>((resolve) => {
    admin.on('message', () => {
      if (++answered === bodies.length) resolve();
    });
  });
  await admin.subscribeAsync('$CONTROL/dynamic-security/v1/response');
  await Promise.all(
    bodies.map((body) =>
      admin.publishAsync('$CONTROL/dynamic-security/v1', JSON.stringify({ commands: [body] }), { qos: 1 }),
    ),
  );
  await all;
  await admin.endAsync();
}

test('changes made at the same time through two nodes are all kept: a node whose change raced another re-applies it to the newer copy', {
  skip,
  timeout: 60_000,
}, async () => {
  const N = 30;
  await withCluster(async (cluster) => {
    const files = ['a', 'b'].map((n) => cluster.file(n));
    const a = await cluster.start('dyn-a', files[0]!);
    const b = await cluster.start('dyn-b', files[1]!);
    const create = (side: string) =>
      Array.from({ length: N }, (_, i) => ({
        command: 'createClient',
        username: `${side}${i}`,
        password: 'p',
      }));
    await Promise.all([burst(a, create('a')), burst(b, create('b'))]);
    const names = [...create('a'), ...create('b')].map((c) => c.username);
    // Both files converge on every client created through either node.
    const missing = (f: string) => {
      const text = readFileSync(f, 'utf8');
      return names.filter((n) => !text.includes(`"${n}"`));
    };
    let left: string[][] = [];
    for (let i = 0; i < 200; i++) {
      left = files.map(missing);
      if (left.every((m) => m.length === 0)) break;
      await sleep(25);
    }
    process.stdout.write(
      `dynsec concurrent: ${2 * N} clients created through two nodes; missing from a's file ${left[0]!.length}, from b's ${left[1]!.length}\n`,
    );
    assert.deepEqual(left[0], [], "clients missing from node a's copy");
    assert.deepEqual(left[1], [], "clients missing from node b's copy");
    assert.equal(await login(a, `b${N - 1}`, 'p'), true);
    assert.equal(await login(b, 'a0', 'p'), true);
  });
});
