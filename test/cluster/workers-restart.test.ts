// `workers N` (Culex): a worker that dies is restarted with backoff and takes clients again; workers end with
// their primary; what one worker receives reaches the subscribers of the other (they are cluster nodes).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IClientOptions, MqttClient } from 'mqtt';
import { waitFor } from '../helpers/net.js';
import { startRedis } from '../helpers/redis.js';
import {
  alive,
  clientsOnBothWorkers,
  cluster,
  connectUntil,
  exited,
  skip,
  socketOwners,
  socketPath,
  startWorkers,
  unixConnack,
  type Workers,
  workerPids,
} from './workers-helpers.js';

test('workers 2: what one worker receives reaches subscribers on the other (QoS 0, 1, 2; retained), once', {
  skip,
}, async () => {
  const redis = await startRedis();
  let w: Workers | undefined;
  const clients: MqttClient[] = [];
  try {
    w = await startWorkers(['allow_anonymous true', ...cluster(redis.url), 'workers 2']);
    // Two clients on each worker, MQTT 3.1.1 and 5 mixed.
    const version = (i: number): IClientOptions => ({ protocolVersion: i % 2 === 0 ? 4 : 5 });
    const both = await clientsOnBothWorkers(w, 'x', 2, version);
    clients.push(...both.all);
    const [onA, onB] = both.sides;
    const sub = onB[0]!;
    const pub = onA[0]!;
    const got: string[] = [];
    let probes = 0;
    sub.on('message', (topic, payload) => {
      // Probes still on their way when the probing stops are not part of what is checked.
      if (topic === 'x/probe') probes++;
      else got.push(`${topic} ${payload.toString()}`);
    });
    await sub.subscribeAsync('x/#', { qos: 2 });
    // The subscription reaches the other worker through Redis: publish until the first one arrives.
    let i = 0;
    while (probes === 0 && i++ < 150) {
      await pub.publishAsync('x/probe', String(i));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(i < 150, 'a subscription on one worker gets what the other receives');
    for (const qos of [0, 1, 2] as const) await pub.publishAsync(`x/q${qos}`, `m${qos}`, { qos });
    await pub.publishAsync('x/r', 'kept', { qos: 1, retain: true });
    assert.ok(await waitFor(() => got.length >= 4, 15_000), JSON.stringify(got));
    await new Promise((r) => setTimeout(r, 300));
    // Each once (mqtt.js hands a QoS 2 message over at PUBREL, so across QoS levels the order may change).
    assert.deepEqual([...got].sort(), ['x/q0 m0', 'x/q1 m1', 'x/q2 m2', 'x/r kept']);
    // A retained message set through worker A is there for a new subscriber on worker B.
    const late = onB[1]!;
    const retained = new Promise<string>((resolve) =>
      late.on('message', (_t, p, packet) => packet.retain && resolve(p.toString())),
    );
    await late.subscribeAsync('x/r', { qos: 1 });
    assert.equal(await retained, 'kept');
  } finally {
    for (const c of clients) c.end(true);
    await w?.proc.stop();
    await redis.stop();
  }
});

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
      ...cluster(redis.url),
      'workers 2',
      `listener 0 ${sockPath}`,
    ]);
    const log = (): string => w!.proc.log();
    /** SIGKILLs worker 1, checks the announced delay, waits for its successor to run; returns its pid. */
    const killWorker1 = async (delay: string): Promise<number> => {
      const pid = workerPids(log()).get(1)!;
      process.kill(pid, 'SIGKILL');
      const said = `Worker 1 (pid ${pid}) killed by signal SIGKILL; restarting it in ${delay} s.`;
      assert.ok(await waitFor(() => log().includes(said), 10_000), log());
      assert.ok(await waitFor(() => workerPids(log()).get(1) !== pid, 10_000), log());
      const next = workerPids(log()).get(1)!;
      const back = `Worker 1 (pid ${next}) is running again.`;
      // Generous: a loaded machine starts a Node.js process slowly.
      assert.ok(await waitFor(() => log().includes(back), 30_000), log());
      return next;
    };
    await killWorker1('0.25');
    // A worker dying again soon after its restart waits twice as long.
    const third = await killWorker1('0.5');
    // The new worker listens again: new clients reach it as well as the other.
    const pids = [...workerPids(log()).values()];
    const onBoth = (): boolean => socketOwners(w!.port, pids).size === 2;
    clients.push(...(await connectUntil(`mqtt://127.0.0.1:${w.port}`, 'r', onBoth)));
    assert.ok(onBoth(), `clients reach the restarted worker ${third}`);
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
