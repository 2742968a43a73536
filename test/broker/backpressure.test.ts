// One slow client must not hurt the others or lose their messages (src/broker/backpressure.ts): a subscriber that
// reads slowly slows the publishers instead of losing messages; one that stops reading is detected within tens
// of milliseconds, lets the publishers go, and loses its own messages (counted by reason, logged once).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SOFT_BACKLOG } from '../../src/broker/backpressure.js';
import { type Clock, systemClock } from '../../src/broker/clock.js';
import type { LogLevel } from '../../src/broker/logger.js';
import { SqliteStore } from '../../src/persistence/sqlite-store.js';
import type { Packet, QoS } from '../../src/protocol/packets.js';
import type { BrokerInit } from '../../src/server/broker.js';
import { withBroker } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

async function client(
  port: number,
  clientId: string,
  topic?: string,
  qos: QoS = 0,
  clean = true,
): Promise<RawClient> {
  const { client: c } = await RawClient.connect(port, { clientId, clean });
  if (topic !== undefined) await subscribe(c, 1, [[topic, qos]]);
  return c;
}

/** Reads PUBLISHes until `count` distinct tags (first 4 payload bytes) arrived, acknowledging QoS 1, slowly. */
async function readAll(
  c: RawClient,
  count: number,
  pauseEvery: number,
  timeoutMs: number,
): Promise<Set<number>> {
  const seen = new Set<number>();
  const end = Date.now() + timeoutMs;
  let n = 0;
  while (seen.size < count && Date.now() < end) {
    let p: Packet;
    try {
      p = await c.next(Math.max(1, end - Date.now()));
    } catch {
      break;
    }
    if (p.type !== 3) continue;
    if (p.qos === 1) c.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
    seen.add(p.payload.readUInt32BE(0));
    if (pauseEvery > 0 && ++n % pauseEvery === 0) {
      c.socket.pause();
      await sleep(2);
      c.socket.resume();
    }
  }
  return seen;
}

function tagged(tag: number, size = 16): Buffer {
  const b = Buffer.alloc(size, 0x61);
  b.writeUInt32BE(tag, 0);
  return b;
}

/** A publisher that writes `count` QoS 1 messages without waiting for PUBACKs; resolves with the PUBACK count. */
async function publishQos1(pub: RawClient, topic: string, count: number, timeoutMs: number): Promise<number> {
  for (let i = 0; i < count; i++) pub.send(publishPacket(topic, tagged(i), 1, i + 1));
  let acks = 0;
  const end = Date.now() + timeoutMs;
  while (acks < count && Date.now() < end) {
    const p = await pub.next(Math.max(1, end - Date.now())).catch(() => undefined);
    if (p === undefined) break;
    if (p.type === 4) acks++;
  }
  return acks;
}

for (const persistent of [false, true]) {
  const what = persistent ? ', persistent sessions in SQLite (group commit holds output)' : '';
  test(`slow subscriber, QoS 1: one that reads slower than the publisher gets every message; publishers are slowed${what}`, {
    timeout: 20000,
  }, async () => {
    const init: BrokerInit = { options: { maxQueuedMessages: 10, maxInflightMessages: 5 } };
    if (persistent) init.store = new SqliteStore(join(tempDir(), 'culex.db'));
    await withBroker(init, async ({ port, broker }) => {
      const slow = await client(port, 'slow', 'q1/t', 1, !persistent);
      const fast = await client(port, 'fast', 'q1/t', 1, !persistent);
      const pub = await client(port, 'pub');
      const COUNT = 1000;
      for (let i = 0; i < COUNT; i++) pub.send(publishPacket('q1/t', tagged(i), 1, i + 1));
      const [slowSeen, fastSeen] = await Promise.all([
        readAll(slow, COUNT, 5, 15000),
        readAll(fast, COUNT, 0, 15000),
      ]);
      assert.equal(slowSeen.size, COUNT, 'the slow reader lost messages');
      assert.equal(fastSeen.size, COUNT, 'the fast reader lost messages');
      assert.equal(broker.stats.dropped, 0);
      assert.ok(
        (broker.internals.sessions.get('slow')!.connection!.pressure?.pauses ?? 0) > 0,
        'the publisher was paused',
      );
      for (const c of [slow, fast, pub]) c.destroy();
    });
  });
}

/** 12.5 MiB: more than the kernel buffers and the 4 MiB a slow consumer may have unsent. */
const FILL = 200;

/** Publishes enough 64 KiB QoS 0 messages to back the stalled subscriber's socket up well past SOFT_BACKLOG. */
function fill(pub: RawClient, topic: string): void {
  for (let i = 0; i < FILL; i++) pub.send(publishPacket(topic, tagged(1_000_000 + i, 64 * 1024), 0));
}

/**
 * Generous on a loaded machine (the 12.5 MiB filler itself takes ~0.4 s there), yet below the >= 2 s that a
 * publisher paused until a stall timeout of 2 s would take.
 */
const BOUND_MS = 1500;

async function burstArrives(pub: RawClient, normal: RawClient, topic: string): Promise<number> {
  const started = Date.now();
  fill(pub, topic);
  for (let i = 0; i < 50; i++) pub.send(publishPacket(topic, tagged(i), 0));
  const seen = await readAll(normal, FILL + 50, 0, 5000);
  for (let i = 0; i < 50; i++) assert.ok(seen.has(i), `burst message ${i} never arrived`);
  return Date.now() - started;
}

/**
 * Wall-clock time whose pace the test can slow down (timers stay real): once the stall is seen, broker time runs at
 * 1/50 speed, so the 1 s probation outlasts the drain and the second burst however slow the machine is.
 */
class DilatedClock implements Clock {
  private base = Date.now();
  private realBase = this.base;
  private rate = 1;
  now(): number {
    return this.base + (Date.now() - this.realBase) * this.rate;
  }
  slow(rate: number): void {
    this.base = this.now();
    this.realBase = Date.now();
    this.rate = rate;
  }
  setTimeout = systemClock.setTimeout;
  setInterval = systemClock.setInterval;
  clearTimer = systemClock.clearTimer;
}

test('slow subscriber, QoS 0: one that stops reading does not hold up another subscriber (burst within 1.5 s)', {
  timeout: 20000,
}, async () => {
  const clock = new DilatedClock();
  await withBroker({ clock }, async ({ port, broker }) => {
    const stalled = await client(port, 'stalled', 'q0/t', 0);
    stalled.socket.pause();
    const normal = await client(port, 'normal', 'q0/t', 0);
    const pub = await client(port, 'pub');
    const conn = broker.internals.sessions.get('stalled')!.connection!;
    const watch = setInterval(() => {
      if (conn.pressure?.stalled === true) {
        clock.slow(0.02);
        clearInterval(watch);
      }
    }, 1);
    const ms = await burstArrives(pub, normal, 'q0/t').finally(() => clearInterval(watch));
    assert.ok(conn.stream.writableLength > SOFT_BACKLOG, 'the stalled subscriber did back up');
    assert.ok(ms < BOUND_MS, `the other subscriber got the burst after ${ms} ms`);
    assert.ok(broker.stats.droppedSlowConsumer > 0, 'QoS 0 to the stalled subscriber is dropped');
    assert.equal(broker.stats.droppedQueueFull, 0);

    // It resumes, drains, and stops again at once: on probation, it may not pause the publisher a second time.
    assert.ok(conn.pressure!.probationUntil > clock.now(), 'on probation after the stall');
    const pauses = conn.pressure!.pauses;
    stalled.socket.resume();
    assert.ok(await waitFor(() => conn.stream.writableLength === 0 && !conn.pressure!.stalled, 5000));
    stalled.socket.pause();
    const again = await burstArrives(pub, normal, 'q0/t');
    assert.equal(conn.pressure!.pauses, pauses, 'paused the publisher again');
    assert.ok(again < BOUND_MS, `the other subscriber got the second burst after ${again} ms`);
    process.stdout.write(`# bursts arrived after ${ms} ms and ${again} ms\n`);
    for (const c of [stalled, normal, pub]) c.destroy();
  });
});

test('slow subscriber: one that makes no progress is dropped, counted by reason and logged once', {
  timeout: 20000,
}, async () => {
  const lines: string[] = [];
  const logger = { enabled: () => true, log: (level: LogLevel, m: string) => lines.push(`${level}: ${m}`) };
  await withBroker(
    { logger, options: { maxQueuedMessages: 10, maxInflightMessages: 5 } },
    async ({ port, broker }) => {
      const stuck = await client(port, 'stuck', 'stuck/t', 1);
      stuck.socket.pause();
      const pub = await client(port, 'pub');
      // The publisher is released once the subscriber is found making no progress: every PUBLISH is acknowledged.
      assert.equal(await publishQos1(pub, 'stuck/t', 200, 5000), 200);
      const session = broker.sessions.get('stuck')!;
      // 5 in flight + 10 queued are kept; the rest is dropped for the full queue.
      assert.equal(session.inflight, 5);
      assert.equal(session.queued, 10);
      assert.equal(broker.stats.droppedQueueFull, 185);
      assert.equal(broker.stats.dropped, 185);
      assert.equal(session.dropped, 185);
      const dropLines = lines.filter((l) => l.includes('Outgoing messages are being dropped'));
      assert.deepEqual(dropLines, ['notice: Outgoing messages are being dropped for client stuck.']);
      stuck.destroy();
      pub.destroy();
    },
  );
});

test('slow subscriber: two clients publishing to each other while reading slowly never deadlock', {
  timeout: 20000,
}, async () => {
  await withBroker({ options: { maxQueuedMessages: 10, maxInflightMessages: 5 } }, async ({ port }) => {
    const a = await client(port, 'a', 'to/a', 1);
    const b = await client(port, 'b', 'to/b', 1);
    const COUNT = 300;
    // Each floods the other, then reads (and acknowledges) slowly what it gets, counting its own PUBACKs.
    const run = async (self: RawClient, other: string): Promise<number> => {
      for (let i = 0; i < COUNT; i++) self.send(publishPacket(`to/${other}`, tagged(i), 1, i + 1));
      let acks = 0;
      const end = Date.now() + 8000;
      let n = 0;
      while (acks < COUNT && Date.now() < end) {
        const p = await self.next(Math.max(1, end - Date.now())).catch(() => undefined);
        if (p === undefined) break;
        if (p.type === 4) acks++;
        else if (p.type === 3 && p.qos === 1) self.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
        if (++n % 5 === 0) await sleep(1);
      }
      return acks;
    };
    const [ackedA, ackedB] = await Promise.all([run(a, 'b'), run(b, 'a')]);
    assert.equal(ackedA, COUNT);
    assert.equal(ackedB, COUNT);
    a.destroy();
    b.destroy();
  });
});

test('slow subscriber: a publisher it holds (keepalive 1 s, PINGREQs held with its data) is not timed out', {
  timeout: 20000,
}, async () => {
  await withBroker(
    { options: { maxQueuedMessages: 10, maxInflightMessages: 5 } },
    async ({ port, broker }) => {
      const slow = await client(port, 'slow', 'ka/t', 1);
      const { client: pub } = await RawClient.connect(port, { clientId: 'pub', keepAlive: 1 });
      for (let i = 0; i < 300; i++) pub.send(publishPacket('ka/t', tagged(i), 1, i + 1));
      let paused = false;
      const reading = readAll(slow, 300, 1, 3000);
      // PINGREQ every half second, as a client would; while paused they wait unread with the rest.
      for (let t = 0; t < 6; t++) {
        pub.send({ type: 12 });
        await sleep(500);
        paused ||= broker.internals.sessions.get('pub')!.connection!.pausedBy !== null;
      }
      await reading;
      assert.ok(paused, 'the publisher was paused');
      assert.equal(pub.isClosed, false, 'the paused publisher was disconnected');
      pub.send({ type: 12 });
      assert.equal((await pub.nextOfType(13, 5000)).type, 13);
      slow.destroy();
      pub.destroy();
    },
  );
});
