// Three cluster nodes as real `culex` processes on one redis-server, one of them SIGKILLed 20 times (seeded
// choice and timing) under QoS 1 / 2 load and restarted with its node id. Publishers and persistent subscribers
// are persistent sessions that reconnect to the surviving nodes (mqtt.js `servers`, one client object each, so
// its QoS 2 state lives on). Every message acknowledged to a publisher (PUBACK / PUBREC) must reach every
// subscriber, QoS 2 exactly once (QoS 1 duplicates are allowed and counted); the counts are printed for the
// closing note.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MqttClient } from 'mqtt';
import {
  type Broker,
  killHard,
  type Ledger,
  persistentClient,
  type SteadyLoad,
  startBroker,
  steadyLoad,
  tally,
  writeNodeConf,
} from '../helpers/kill-load.js';
import { freePort, sleep } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { requireRedis, startRedis } from '../helpers/redis.js';
import { seededRng } from '../helpers/seed.js';

const skip = requireRedis();
const KILLS = 20;
const NODES = 3;
const SUBSCRIBERS = 2;
const PUBLISHERS = 3;

test('a node SIGKILLed 20 times under QoS 1/2 load: every acknowledged message reaches every persistent subscriber, QoS 2 once', {
  skip,
  timeout: 120_000,
}, async () => {
  const rng = seededRng('failover-sigkill victims and timing');
  const redis = await startRedis();
  const dir = tempDir('culex-failover-');
  const ports: number[] = [];
  const confs: string[] = [];
  for (let i = 0; i < NODES; i++) {
    const port = await freePort();
    ports.push(port);
    confs.push(
      writeNodeConf(dir, port, redis.url, `n${i}`, ['max_queued_messages 0', 'connection_messages false']),
    );
  }
  const nodes: Array<Broker | undefined> = [];
  const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };
  const received: Array<Map<string, number>> = [];
  const clients: MqttClient[] = [];
  const publishers: SteadyLoad[] = [];
  const events: string[] = [];
  try {
    for (let i = 0; i < NODES; i++) nodes.push(await startBroker(confs[i]!, ports[i]!));
    const servers = (first: number) =>
      ports.map((_, k) => ({ host: '127.0.0.1', port: ports[(first + k) % NODES]! }));
    for (let s = 0; s < SUBSCRIBERS; s++) {
      const counts = new Map<string, number>();
      received.push(counts);
      const sub = persistentClient(`sub-${s}`, servers(s));
      sub.on('connect', (ack) => events.push(`sub-${s} connect sp=${ack.sessionPresent} @${Date.now()}`));
      sub.on('message', (_topic, payload) => {
        const p = payload.toString();
        counts.set(p, (counts.get(p) ?? 0) + 1);
      });
      clients.push(sub);
      await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
      await sub.subscribeAsync('load/#', { qos: 2 });
    }
    for (let p = 0; p < PUBLISHERS; p++) {
      const client = persistentClient(`pub-${p}`, servers(p + 1));
      clients.push(client);
      publishers.push(steadyLoad(client, `load/${p}`, `${p}:`, ledger));
    }
    // Killed nodes restart in the background (with their node id); the next victim is one that is up while
    // another is up too, so clients always have a survivor to reconnect to.
    const restarting: Array<Promise<void> | undefined> = [];
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(300 + rng.int(500));
      let up = nodes.flatMap((n, i) => (n === undefined ? [] : [i]));
      while (up.length < 2) {
        await Promise.race(restarting.filter((r) => r !== undefined));
        up = nodes.flatMap((n, i) => (n === undefined ? [] : [i]));
      }
      const victim = up[rng.int(up.length)]!;
      events.push(`kill n${victim} @${Date.now()} acked ${ledger.acked.size}`);
      await killHard(nodes[victim]!);
      nodes[victim] = undefined;
      const downMs = 200 + rng.int(900);
      restarting[victim] = sleep(downMs)
        .then(() => startBroker(confs[victim]!, ports[victim]!))
        .then((b) => {
          nodes[victim] = b;
          restarting[victim] = undefined;
          events.push(`n${victim} back @${Date.now()}`);
        });
    }
    await Promise.all(restarting.filter((r) => r !== undefined));
    for (const p of publishers) p.stop();
    const settle = Date.now() + 20_000;
    while (Date.now() < settle && publishers.some((p) => p.outstanding() > 0)) await sleep(100);
    // Every subscriber gets every acknowledged message (or stays quiet for 5 s).
    let last = -1;
    let quietSince = Date.now();
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      const missing = received.reduce((n, c) => n + [...ledger.acked].filter((p) => !c.has(p)).length, 0);
      if (missing === 0) break;
      if (missing !== last) {
        last = missing;
        quietSince = Date.now();
      } else if (Date.now() - quietSince > 5000) break;
      await sleep(200);
    }
    await sleep(500);
    const tallies = received.map((c) => tally(ledger, c));
    const line = tallies
      .map(
        (t, s) =>
          `sub-${s}: delivered ${t.delivered}, lost ${t.lost.length}, QoS 2 duplicated ${t.duplicatedQos2.length}, QoS 1 duplicated ${t.duplicatedQos1}, unknown ${t.unknown.length}`,
      )
      .join('; ');
    process.stdout.write(
      `failover-sigkill: ${KILLS} kills of ${NODES} nodes, sent ${ledger.sent.size}, acknowledged ${ledger.acked.size}; ${line}\n`,
    );
    const failed = tallies.some((t) => t.lost.length + t.duplicatedQos2.length + t.unknown.length > 0);
    if (failed) {
      process.stdout.write(`${events.join('\n')}\n`);
      for (let i = 0; i < NODES; i++) process.stdout.write(`--- n${i}\n${nodes[i]?.output() ?? ''}\n`);
    }
    assert.ok(ledger.acked.size > 200, `only ${ledger.acked.size} messages acknowledged`);
    tallies.forEach((t, s) => {
      assert.deepEqual(t.lost.slice(0, 10), [], `sub-${s}: ${t.lost.length} acknowledged messages lost`);
      assert.deepEqual(
        t.duplicatedQos2.slice(0, 10),
        [],
        `sub-${s}: ${t.duplicatedQos2.length} QoS 2 messages delivered more than once`,
      );
      assert.deepEqual(t.unknown, [], `sub-${s}: messages nobody sent`);
    });
  } finally {
    for (const c of clients) c.end(true);
    for (const n of nodes) if (n !== undefined) await killHard(n);
    await redis.stop();
  }
});
