// Redis (AOF, appendfsync always) SIGKILLed and restarted under QoS 1 / 2 load across two nodes: the nodes say
// so in their logs and carry on; nothing acknowledged to a publisher before, during or after the outage is lost
// for the persistent subscribers on either node (QoS 2 duplicates are counted and printed).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { startNode, type TestNode } from '../helpers/cluster-nodes.js';
import { sleep } from '../helpers/net.js';
import { requireRedis, startRedis } from '../helpers/redis.js';

const skip = requireRedis();

function client(port: number, clientId: string): MqttClient {
  const c = mqtt.connect({
    host: '127.0.0.1',
    port,
    clientId,
    clean: false,
    reconnectPeriod: 100,
    connectTimeout: 20_000,
  });
  c.on('error', () => {});
  return c;
}

test('Redis killed and restarted under load: nothing acknowledged is lost', {
  skip,
  timeout: 60_000,
}, async () => {
  const redis = await startRedis({ args: ['--appendfsync', 'always'] });
  const nodes: TestNode[] = [];
  const clients: MqttClient[] = [];
  try {
    nodes.push(await startNode('a', redis.url, 'out:'));
    nodes.push(await startNode('b', redis.url, 'out:'));
    const [a, b] = nodes as [TestNode, TestNode];
    const received = [new Map<string, number>(), new Map<string, number>()];
    for (const [i, node] of [a, b].entries()) {
      const sub = client(node.port, `sub-${i}`);
      clients.push(sub);
      sub.on('message', (_t, payload) => {
        const p = payload.toString();
        received[i]!.set(p, (received[i]!.get(p) ?? 0) + 1);
      });
      await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
      await sub.subscribeAsync('load/#', { qos: 2 });
    }
    await sleep(300);
    const pub = client(a.port, 'pub');
    clients.push(pub);
    const sent = new Set<string>();
    const acked = new Set<string>();
    const byId = new Map<number, string>();
    pub.on('packetsend', (p: Packet) => {
      if (p.cmd === 'publish' && p.qos > 0 && p.messageId !== undefined)
        byId.set(p.messageId, String(p.payload));
    });
    pub.on('packetreceive', (p: Packet) => {
      if ((p.cmd === 'puback' || p.cmd === 'pubrec') && p.messageId !== undefined) {
        const payload = byId.get(p.messageId);
        if (payload !== undefined) acked.add(payload);
      }
    });
    let n = 0;
    let open = 0;
    let stopped = false;
    const pump = (): void => {
      while (!stopped && open < 16) {
        n++;
        const qos = (n % 2 === 0 ? 2 : 1) as 1 | 2;
        const payload = `${qos}:${n}`;
        sent.add(payload);
        open++;
        pub.publish('load/x', payload, { qos }, () => {
          open--;
          setImmediate(pump);
        });
      }
    };
    await new Promise<void>((resolve) => pub.once('connect', () => resolve()));
    pump();
    await sleep(700);
    const before = acked.size;
    await redis.kill();
    await sleep(1000);
    const during = acked.size;
    await redis.restart();
    await sleep(2500);
    stopped = true;
    const settle = Date.now() + 15_000;
    while (open > 0 && Date.now() < settle) await sleep(100);
    const end = Date.now() + 15_000;
    while (Date.now() < end && received.some((r) => [...acked].some((p) => !r.has(p)))) await sleep(200);
    await sleep(300);
    const report = received.map((r, i) => {
      const lost = [...acked].filter((p) => !r.has(p));
      const dup2 = [...r].filter(([p, c]) => p.startsWith('2:') && c > 1).length;
      return { i, lost, dup2, delivered: r.size };
    });
    process.stdout.write(
      `redis-outage: acknowledged ${acked.size} (${before} before the kill, ${during - before} while Redis was down); ${report
        .map((r) => `sub-${r.i}: delivered ${r.delivered}, lost ${r.lost.length}, QoS 2 duplicated ${r.dup2}`)
        .join('; ')}\n`,
    );
    assert.ok(acked.size > before, 'publishing resumed after Redis came back');
    // Not asserted: a QoS 2 copy may go twice when Redis applied a MULTI whose reply the kill cut off (the
    // client resends it on reconnection); counted above (docs/cluster-sessions-notes.md).
    for (const r of report)
      assert.deepEqual(r.lost.slice(0, 10), [], `sub-${r.i}: acknowledged messages lost`);
    assert.ok(
      a.lines.some((l) => l.startsWith('Cluster: Redis connection lost')),
      a.lines.filter((l) => l.startsWith('Cluster')).join('\n'),
    );
    assert.ok(a.lines.includes('Cluster: Redis connection restored.'));
  } finally {
    for (const c of clients) c.end(true);
    for (const node of nodes) await node.stop();
    await redis.stop();
  }
});
