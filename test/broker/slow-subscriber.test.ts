// A subscriber that stops reading must not make the broker buffer without bound: the broker runs as a child
// process (`node bin/culex.js -c conf`), ~100 MB is published past a stalled subscriber, and the broker's RSS
// is sampled from /proc while another subscriber keeps receiving.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { QoS } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import { type BrokerProcess, startCulexProcess } from '../helpers/processes.js';
import { frameSize, publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

const PAYLOAD = 64 * 1024;
// 200 MiB: enough that a broker holding the stalled reader's share would need far more than the garbage that
// a fast flood of 64 KiB buffers leaves behind between collections (measured: RSS plateaus ~100-140 MiB above
// the base at QoS 1, whatever the volume).
const MESSAGES = Number(process.env.FLOOD_MESSAGES ?? 3200);
const TOPIC = 'flood';

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

/** A subscriber that reads and acknowledges as fast as it can, counting messages without keeping them. */
class CountingSubscriber {
  messages = 0;
  lastPayloadTag = -1;
  private buf: Buffer = Buffer.alloc(0);
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }
  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const size = frameSize(this.buf);
      if (size === 0 || size > this.buf.length) break;
      const frame = this.buf.subarray(0, size);
      this.buf = this.buf.subarray(size);
      if (frame[0]! >> 4 !== 3) continue;
      this.messages++;
      const qos = (frame[0]! >> 1) & 3;
      const headerLen = size - remainingLength(frame);
      const topicLen = frame.readUInt16BE(headerLen);
      let at = headerLen + 2 + topicLen;
      if (qos > 0) {
        const id = frame.readUInt16BE(at);
        at += 2;
        this.socket.write(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
      }
      this.lastPayloadTag = frame.readUInt32BE(at);
    }
  }
}

function remainingLength(frame: Buffer): number {
  let value = 0;
  let mult = 1;
  for (let i = 1; i <= 4; i++) {
    const b = frame[i]!;
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return value;
    mult *= 128;
  }
  return value;
}

async function connectCounting(port: number, clientId: string, qos: QoS): Promise<CountingSubscriber> {
  const { client } = await RawClient.connect(port, { clientId });
  await subscribe(client, 1, [[TOPIC, qos]]);
  return new CountingSubscriber(client.socket);
}

/**
 * Writes `count` messages, honouring the socket's back-pressure. With `pace`, the publisher also waits while the
 * fast subscriber is more than `LEAD` messages behind, so that subscriber alone never overloads the broker's
 * bounded buffers: any loss it sees would then come from the stalled reader.
 */
async function flood(
  socket: Socket,
  qos: QoS,
  count: number,
  pace?: CountingSubscriber,
  onHalf?: () => void,
): Promise<void> {
  const payload = Buffer.alloc(PAYLOAD, 0x61);
  for (let i = 0; i < count; i++) {
    if (i === count / 2) onHalf?.();
    payload.writeUInt32BE(i, 0);
    const bytes = encodePacket(publishPacket(TOPIC, payload, qos, (i % 65535) + 1), 4);
    if (!socket.write(bytes)) await new Promise((r) => socket.once('drain', r));
    if (pace !== undefined) {
      for (let spin = 0; i - pace.lastPayloadTag > LEAD && spin < 2000; spin++) await sleep(1);
    }
  }
}

const LEAD = 40;

interface FloodResult {
  baseKiB: number;
  /** Peak RSS while the first half was published, and over the whole run. */
  halfKiB: number;
  peakKiB: number;
  fast: CountingSubscriber;
}

async function runFlood(broker: BrokerProcess, qos: QoS): Promise<FloodResult> {
  const port = broker.port;
  // The stalled subscriber: subscribes, then never reads again.
  const { client: slow } = await RawClient.connect(port, { clientId: `slow-${qos}` });
  await subscribe(slow, 1, [[TOPIC, qos]]);
  slow.socket.pause();
  const fast = await connectCounting(port, `fast-${qos}`, qos);
  const { client: pub } = await RawClient.connect(port, { clientId: `pub-${qos}` });
  pub.socket.on('data', () => {}); // discard PUBACKs
  const baseKiB = rssKiB(broker.pid);
  let peakKiB = baseKiB;
  let halfKiB = baseKiB;
  const sampler = setInterval(() => {
    peakKiB = Math.max(peakKiB, rssKiB(broker.pid));
  }, 50);
  try {
    await flood(pub.socket, qos, MESSAGES, fast, () => {
      halfKiB = peakKiB;
    });
    // Let the fast subscriber drain what is still on its way.
    for (let i = 0; i < 100 && fast.lastPayloadTag !== MESSAGES - 1; i++) await sleep(50);
  } finally {
    clearInterval(sampler);
  }
  peakKiB = Math.max(peakKiB, rssKiB(broker.pid));
  slow.destroy();
  pub.destroy();
  fast.socket.destroy();
  return { peakKiB, halfKiB, baseKiB, fast };
}

for (const qos of [0, 1] as const) {
  test(`slow subscriber, QoS ${qos}: 200 MiB past a stalled reader keeps broker RSS bounded; another subscriber keeps receiving`, {
    timeout: 30000,
  }, async () => {
    const broker = await startCulexProcess([
      'allow_anonymous true',
      'max_queued_messages 100',
      'max_inflight_messages 20',
    ]);
    try {
      const { peakKiB, halfKiB, baseKiB, fast } = await runFlood(broker, qos);
      const mib = (k: number): string => (k / 1024).toFixed(1);
      const growthMiB = (peakKiB - baseKiB) / 1024;
      const secondHalfMiB = (peakKiB - halfKiB) / 1024;
      process.stdout.write(
        `# QoS ${qos}: broker RSS base ${mib(baseKiB)} MiB, peak in the first half ${mib(halfKiB)}, overall ${mib(peakKiB)}; fast subscriber got ${fast.messages}/${MESSAGES}\n`,
      );
      // A broker buffering for the stalled reader grows by at least the 200 MiB sent, half of it in the second half.
      assert.ok(growthMiB < 170, `broker RSS grew by ${growthMiB.toFixed(1)} MiB`);
      assert.ok(
        secondHalfMiB < 60,
        `broker RSS still grew by ${secondHalfMiB.toFixed(1)} MiB in the second half`,
      );
      assert.equal(fast.lastPayloadTag, MESSAGES - 1, 'the fast subscriber got the last message');
      assert.equal(fast.messages, MESSAGES, 'the fast subscriber got every message');
    } finally {
      await broker.stop();
    }
  });
}

test('slow subscriber, in process: its queue, in-flight window and socket buffer stay within their limits', {
  timeout: 15000,
}, async () => {
  await withBroker(
    { options: { maxQueuedMessages: 10, maxInflightMessages: 5 } },
    async ({ port, broker }) => {
      const { client: slow1 } = await RawClient.connect(port, { clientId: 'slow1' });
      await subscribe(slow1, 1, [[TOPIC, 1]]);
      slow1.socket.pause();
      const { client: slow0 } = await RawClient.connect(port, { clientId: 'slow0' });
      await subscribe(slow0, 1, [[TOPIC, 0]]);
      slow0.socket.pause();
      const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
      pub.socket.on('data', () => {});
      await flood(pub.socket, 1, 400);
      await sleep(200);
      const s1 = broker.sessions.get('slow1')!;
      assert.ok(s1.inflight <= 5);
      assert.ok(s1.queued <= 10);
      assert.ok(s1.dropped > 0);
      // QoS 0 stops being written once 4 MiB are unsent (one message may cross the line).
      const c0 = broker.internals.sessions.get('slow0')!.connection!;
      assert.ok(
        c0.stream.writableLength <= 4 * 1024 * 1024 + 2 * PAYLOAD,
        `QoS 0 backlog ${c0.stream.writableLength}`,
      );
      const { client: probe } = await RawClient.connect(port, { clientId: 'probe' });
      probe.send({ type: 12 });
      assert.equal((await probe.next()).type, 13);
      probe.disconnect();
      pub.destroy();
      slow0.destroy();
      slow1.destroy();
    },
  );
});
