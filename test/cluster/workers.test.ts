// `workers N` (Culex): the `culex` command forks N worker processes that share every listener kind and join one
// cluster through Redis. Here: the configuration checks, the listeners shared, SIGHUP and SIGTERM, a worker that
// cannot start. Restarts and routing between workers: workers-restart.test.ts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { freePort, waitFor } from '../helpers/net.js';
import { CULEX_BIN, tempDir, writeConf } from '../helpers/processes.js';
import { startRedis } from '../helpers/redis.js';
import { makePki } from '../transport/pki.js';
import {
  alive,
  cluster,
  connectUntil,
  exited,
  skip,
  socketOwners,
  socketPath,
  startWorkers,
  testConfig,
  unixConnack,
  type Workers,
  workerPids,
} from './workers-helpers.js';

test('workers N > 1 without cluster_redis_url is refused with the line and the reason (exit 3)', () => {
  const file = testConfig(['allow_anonymous true', 'workers 2']);
  assert.equal(file.status, 3, file.out);
  assert.ok(
    file.out.includes(`${file.conf}:3: option "workers": 2 worker processes need cluster_redis_url`),
    file.out,
  );
  const flag = testConfig(['allow_anonymous true'], ['--workers', '3']);
  assert.equal(flag.status, 3, flag.out);
  assert.match(flag.out, /option "workers": 3 worker processes need cluster_redis_url/);
  const zero = testConfig(['workers 0']);
  assert.equal(zero.status, 3, zero.out);
  assert.match(zero.out, /:2: option "workers"/);
  const badFlag = testConfig([], ['--workers', 'many']);
  assert.equal(badFlag.status, 3, badFlag.out);
  assert.match(badFlag.out, /Invalid number of workers specified \(many\)/);
  // With the cluster configured, the same lines are fine; `--workers 1` turns workers off again.
  const ok = testConfig(['workers 2', 'cluster_redis_url redis://127.0.0.1:6379']);
  assert.equal(ok.status, 0, ok.out);
  assert.equal(testConfig(['workers 2'], ['--workers', '1']).status, 0);
});

test('workers 2: TCP, TLS, WebSocket and Unix socket listeners are shared; clients land on both workers; SIGHUP reaches each; SIGTERM stops all', {
  skip,
}, async () => {
  const redis = await startRedis();
  const pki = makePki();
  const tlsPort = await freePort();
  const wsPort = await freePort();
  const sockPath = socketPath();
  let w: Workers | undefined;
  const clients: MqttClient[] = [];
  try {
    w = await startWorkers([
      'allow_anonymous true',
      ...cluster(redis.url),
      'workers 2',
      `listener ${tlsPort} 127.0.0.1`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      `listener 0 ${sockPath}`,
    ]);
    const pids = workerPids(w.proc.log());
    assert.equal(pids.size, 2, w.proc.log());
    const onBoth = (port: number) => () => socketOwners(port, pids.values()).size === 2;
    clients.push(...(await connectUntil(`mqtt://127.0.0.1:${w.port}`, 't', onBoth(w.port))));
    assert.ok(onBoth(w.port)(), 'both workers hold TCP clients');
    const ca = readFileSync(pki.caCert);
    clients.push(...(await connectUntil(`mqtts://127.0.0.1:${tlsPort}`, 's', onBoth(tlsPort), { ca })));
    assert.ok(onBoth(tlsPort)(), 'both workers hold TLS clients');
    clients.push(...(await connectUntil(`ws://127.0.0.1:${wsPort}/mqtt`, 'w', onBoth(wsPort))));
    assert.ok(onBoth(wsPort)(), 'both workers hold WebSocket clients');
    for (let i = 0; i < 2; i++) assert.equal(await unixConnack(sockPath), '20020000');

    const reloads = (): number => w!.proc.log().split('Reloading config.').length - 1;
    w.proc.signal('SIGHUP');
    assert.ok(await waitFor(() => reloads() === 2, 5000), w.proc.log());
    assert.ok([...pids.values()].every(alive), 'SIGHUP reloads, it stops nobody');

    for (const c of clients.splice(0)) c.end(true);
    w.proc.signal('SIGTERM');
    assert.equal(await exited(w.proc), 'code 0', w.proc.log());
    assert.equal(w.proc.log().split('terminating').length - 1, 1, 'one "terminating" line, from the primary');
    assert.ok(![...pids.values()].some(alive), 'every worker is gone');
    assert.ok(!existsSync(sockPath), 'the Unix socket file is removed');
  } finally {
    for (const c of clients) c.end(true);
    await w?.proc.stop();
    await redis.stop();
  }
});

test('workers 2: a worker that cannot open its listener stops the broker with its exit status (1)', {
  skip,
}, async () => {
  const redis = await startRedis();
  const taken = createServer();
  const port = await new Promise<number>((resolve) =>
    taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)),
  );
  try {
    const dir = tempDir('culex-workers-');
    const conf = writeConf(dir, port, ['allow_anonymous true', ...cluster(redis.url), 'workers 2']);
    const r = spawnSync(process.execPath, [CULEX_BIN, '-c', conf], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /Error: Address already in use/);
    assert.match(r.stderr, /Worker \d \(pid \d+\) exited with status 1 while starting; stopping\./);
  } finally {
    taken.close();
    await redis.stop();
  }
});
