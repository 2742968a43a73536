// `workers N` (Culex): the `culex` command forks N worker processes that share every listener kind and join one
// cluster through Redis; the primary restarts a worker that dies, forwards SIGHUP and stops them all on SIGTERM.
// Real processes (bin/culex.js), a real redis-server, clients over TCP, TLS, WebSockets and a Unix socket.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { freePort, waitFor } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir, writeConf } from '../helpers/processes.js';
import { requireRedis, startRedis } from '../helpers/redis.js';
import { connectMqtt } from '../transport/clients.js';
import { makePki } from '../transport/pki.js';

const skip = requireRedis();

/** Worker number -> pid of its latest process, from the primary's "Worker K started with pid P." lines. */
function workerPids(log: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of log.matchAll(/Worker (\d+) started with pid (\d+)\./g))
    pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Which of `pids` hold established TCP connections on local port `port` (procfs: sockets by inode). */
function socketOwners(port: number, pids: Iterable<number>): Set<number> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 01 = ESTABLISHED; field 9 = inode.
      if (f.length > 9 && Number.parseInt(f[1]!.split(':')[1]!, 16) === port && f[3] === '01')
        inodes.add(f[9]!);
    }
  }
  const owners = new Set<number>();
  for (const pid of pids) {
    const dir = `/proc/${pid}/fd`;
    for (const fd of readdirSync(dir)) {
      let target = '';
      try {
        target = readlinkSync(join(dir, fd));
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m !== null && inodes.has(m[1]!)) owners.add(pid);
    }
  }
  return owners;
}

/** A Unix socket path in a directory the broker may write (started as root it runs as "mosquitto"). */
function socketPath(): string {
  const dir = join(tempDir('culex-workers-sock-'), 's');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  return join(dir, 'culex.sock');
}

interface Workers {
  proc: BrokerProcess;
  port: number;
  dir: string;
}

/** `culex -c conf` with a listener on a free port plus `lines`; resolves once the primary says "running". */
async function startWorkers(lines: readonly string[], args: readonly string[] = []): Promise<Workers> {
  const dir = tempDir('culex-workers-');
  const port = await freePort();
  const conf = writeConf(dir, port, lines);
  const proc = await launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c, ...args], conf, port);
  if (!(await waitFor(() => / running\n/.test(proc.log()), 10_000))) {
    await proc.stop();
    throw new Error(`the workers did not all start:\n${proc.log()}`);
  }
  return { proc, port, dir };
}

function testConfig(lines: readonly string[], args: readonly string[] = []) {
  const dir = tempDir('culex-workers-');
  const conf = writeConf(dir, 1883, lines);
  const r = spawnSync(process.execPath, [CULEX_BIN, '-c', conf, '--test-config', ...args], {
    encoding: 'utf8',
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, conf };
}

async function exited(proc: BrokerProcess, ms = 15_000): Promise<string | null> {
  await waitFor(() => proc.exitStatus() !== null, ms);
  return proc.exitStatus();
}

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
      `cluster_redis_url ${redis.url}`,
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
    // Round-robin over the workers: 8 connections on one port reach both.
    for (let i = 0; i < 8; i++)
      clients.push(await connectMqtt(`mqtt://127.0.0.1:${w.port}`, { clientId: `t${i}` }));
    const tcpOwners = socketOwners(w.port, pids.values());
    assert.deepEqual([...tcpOwners].sort(), [...pids.values()].sort(), 'both workers hold TCP clients');
    for (let i = 0; i < 4; i++) {
      clients.push(
        await connectMqtt(`mqtts://127.0.0.1:${tlsPort}`, {
          ca: readFileSync(pki.caCert),
          clientId: `s${i}`,
        }),
      );
      clients.push(await connectMqtt(`ws://127.0.0.1:${wsPort}/mqtt`, { clientId: `w${i}` }));
    }
    assert.equal(socketOwners(tlsPort, pids.values()).size, 2, 'both workers hold TLS clients');
    assert.equal(socketOwners(wsPort, pids.values()).size, 2, 'both workers hold WebSocket clients');
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

/** Connects to a Unix socket listener, sends a 3.1.1 CONNECT and returns the first 4 bytes back in hex. */
function unixConnack(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    const id = Buffer.from('unix-client');
    const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, id.length]), id]);
    sock.once('connect', () => sock.write(Buffer.concat([Buffer.from([0x10, body.length]), body])));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.subarray(0, 4).toString('hex'));
    });
    sock.once('error', reject);
  });
}

test('workers 2: a killed worker is restarted with a growing delay and takes clients again; the workers end with their primary', {
  skip,
}, async () => {
  const redis = await startRedis();
  let w: Workers | undefined;
  const clients: MqttClient[] = [];
  try {
    const sockPath = socketPath();
    w = await startWorkers([
      'allow_anonymous true',
      `cluster_redis_url ${redis.url}`,
      'workers 2',
      `listener 0 ${sockPath}`,
    ]);
    const first = workerPids(w.proc.log()).get(1)!;
    process.kill(first, 'SIGKILL');
    const log = (): string => w!.proc.log();
    assert.ok(
      await waitFor(
        () => log().includes(`Worker 1 (pid ${first}) killed by signal SIGKILL; restarting it in 0.25 s.`),
        5000,
      ),
      log(),
    );
    assert.ok(await waitFor(() => workerPids(log()).get(1) !== first, 5000), log());
    const second = workerPids(log()).get(1)!;
    assert.ok(
      await waitFor(() => log().includes(`Worker 1 (pid ${second}) is running again.`), 10_000),
      log(),
    );
    // A worker dying again soon after its restart waits twice as long.
    process.kill(second, 'SIGKILL');
    assert.ok(
      await waitFor(
        () => log().includes(`Worker 1 (pid ${second}) killed by signal SIGKILL; restarting it in 0.5 s.`),
        5000,
      ),
      log(),
    );
    assert.ok(await waitFor(() => workerPids(log()).get(1) !== second, 5000), log());
    const third = workerPids(log()).get(1)!;
    assert.ok(
      await waitFor(() => log().includes(`Worker 1 (pid ${third}) is running again.`), 10_000),
      log(),
    );
    // The new worker listens again: new clients reach it as well as the other.
    const pids = [...workerPids(log()).values()];
    for (let i = 0; i < 8; i++)
      clients.push(await connectMqtt(`mqtt://127.0.0.1:${w.port}`, { clientId: `r${i}` }));
    assert.deepEqual(
      [...socketOwners(w.port, pids)].sort(),
      pids.sort(),
      `clients reach the restarted worker ${third}`,
    );
    // A restarted worker leaves the Unix socket file the primary bound for all in place.
    for (let i = 0; i < 4; i++) assert.equal(await unixConnack(sockPath), '20020000');
    for (const c of clients.splice(0)) c.end(true);

    // The primary killed outright: node:cluster ends each worker whose IPC channel to the primary closed.
    const workers = [...workerPids(log()).values()];
    w.proc.signal('SIGKILL');
    assert.equal(await exited(w.proc), 'signal SIGKILL');
    assert.ok(await waitFor(() => !workers.some(alive), 10_000), 'no orphaned worker');
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
    const conf = writeConf(dir, port, [
      'allow_anonymous true',
      `cluster_redis_url ${redis.url}`,
      'workers 2',
    ]);
    const r = spawnSync(process.execPath, [CULEX_BIN, '-c', conf], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /Error: Address already in use/);
    assert.match(r.stderr, /Worker \d \(pid \d+\) exited with status 1 while starting; stopping\./);
  } finally {
    taken.close();
    await redis.stop();
  }
});
