// `workers N` (Culex): QoS 0 copies between the workers of one process tree go over a direct link
// (src/cluster/worker-links.ts), not through Redis; QoS 1/2 copies still go through the receiving worker's
// inbox stream (they must survive its death once acknowledged). A QoS 0 flood from one worker to a subscriber
// on the other that reads slowly slows the publisher (link-pressure.ts) instead of being dropped there.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { waitFor } from '../helpers/net.js';
import { startRedis } from '../helpers/redis.js';
import { clientsOnBothWorkers, cluster, skip, startWorkers, type Workers } from './workers-helpers.js';

/** A QoS 0 PUBLISH whose payload (`size` bytes) starts with `tag`. */
function qos0Publish(topic: string, tag: number, size: number): Buffer {
  const t = Buffer.from(topic);
  const length = 2 + t.length + size;
  const head = [0x30];
  for (let x = length; ; ) {
    const byte = x % 128;
    x = Math.floor(x / 128);
    head.push(x > 0 ? byte | 0x80 : byte);
    if (x === 0) break;
  }
  const out = Buffer.alloc(head.length + length, 0x61);
  Buffer.from(head).copy(out);
  out.writeUInt16BE(t.length, head.length);
  t.copy(out, head.length + 2);
  out.writeUInt32BE(tag, head.length + 2 + t.length);
  return out;
}

/** XADD calls Redis served since its statistics were reset. */
async function xadds(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_xadd:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

test('workers 2: QoS 0 goes straight to the other worker, QoS 1 through its inbox; a QoS 0 flood to a slow reader there is delivered whole', {
  skip,
  timeout: 60_000,
}, async () => {
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  let w: Workers | undefined;
  const clients: MqttClient[] = [];
  try {
    w = await startWorkers(['allow_anonymous true', ...cluster(redis.url), 'workers 2']);
    const both = await clientsOnBothWorkers(w, 'd', 1);
    clients.push(...both.all);
    const pub = both.sides[0][0]!;
    const sub = both.sides[1][0]!;
    const got: number[] = [];
    let probes = 0;
    let q1 = 0;
    sub.on('message', (topic, payload) => {
      if (topic === 'd/probe') probes++;
      else if (topic === 'd/q1') q1++;
      else got.push(payload.readUInt32BE(0));
    });
    await sub.subscribeAsync('d/#', { qos: 1 });
    // The route reaches the other worker through Redis pub/sub: publish until a probe arrives.
    for (let i = 0; probes === 0 && i < 150; i++) {
      await pub.publishAsync('d/probe', String(i));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(probes > 0, 'the subscription on one worker gets what the other receives');
    // Let the direct link settle (a probe may have gone through Redis before it was up).
    await new Promise((r) => setTimeout(r, 300));
    await admin.config('RESETSTAT');

    // 40 MiB of QoS 0 in one burst, five times the 8 MiB a backed-up subscriber may hold, while the subscriber
    // reads slowly (2 ms pauses; never long enough to count as stalled): the copies pile up on its worker
    // unless the publisher is slowed down. Written as raw PUBLISH packets (QoS 0 needs no packet id).
    const count = 10_000;
    const stream = sub.stream as unknown as { pause(): void; resume(): void };
    let n = 0;
    sub.on('message', () => {
      if (++n % 5 !== 0) return;
      stream.pause();
      setTimeout(() => stream.resume(), 2);
    });
    const packets: Buffer[] = [];
    for (let i = 0; i < count; i++) packets.push(qos0Publish('d/flood', i, 4096));
    (pub.stream as unknown as { write(b: Buffer): boolean }).write(Buffer.concat(packets));
    assert.ok(
      await waitFor(() => got.length >= count, 40_000),
      `received ${got.length} of ${count} QoS 0 messages`,
    );
    assert.deepEqual(
      got,
      Array.from({ length: count }, (_, i) => i),
      'all, in order, once',
    );
    assert.equal(await xadds(admin), 0, 'no QoS 0 copy went through Redis');

    // QoS 1 copies must be in Redis (the other worker's inbox) before the PUBACK.
    for (let i = 0; i < 5; i++) await pub.publishAsync('d/q1', String(i), { qos: 1 });
    assert.ok(await waitFor(() => q1 >= 5, 10_000), `received ${q1} of 5 QoS 1 messages`);
    assert.ok((await xadds(admin)) >= 1, 'QoS 1 copies go through the inbox stream');
  } finally {
    for (const c of clients) c.end(true);
    await w?.proc.stop();
    admin.disconnect();
    await redis.stop();
  }
});
