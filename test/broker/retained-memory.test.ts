// Retained messages must hold only their own bytes. A retained message used to keep its encoded frame as a slice of
// the shared 64 KiB output slab (and its payload as a view of a socket read chunk), so a sparse stream of retained
// messages — one now and then between other traffic — kept a whole slab alive per retained message.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt from 'mqtt';
import { Message } from '../../src/broker/message.js';
import { withBroker } from '../helpers/broker.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settle(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().arrayBuffers;
}

test('sparse retained messages do not pin shared output or read buffers (retained store memory stays its own)', async () => {
  const retainedCount = 600;
  const filler = Buffer.alloc(3800, 0x61); // below the slab's own-allocation threshold: carved from the slab
  await withBroker({}, async ({ port }) => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'watcher',
      reconnectPeriod: 0,
    });
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'source',
      reconnectPeriod: 0,
    });
    await sub.subscribeAsync('#', { qos: 1 });
    // QoS 0 traffic may be dropped for a busy subscriber; a QoS 1 marker at the end says all has been routed.
    const done = new Promise<void>((resolve) => {
      sub.on('message', (topic) => {
        if (topic === 'end') resolve();
      });
    });
    const before = settle();
    for (let i = 0; i < retainedCount; i++) {
      // One retained message, delivered live (its frame is built and cached), then ~64 KiB of other traffic,
      // which moves the broker on to a fresh output slab.
      pub.publish(`kept/${i}`, `value ${i}`, { qos: 0, retain: true });
      for (let k = 0; k < 17; k++) pub.publish('stream', filler, { qos: 0 });
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await pub.publishAsync('end', 'x', { qos: 1 });
    await done;
    await pub.endAsync();
    await sub.endAsync();
    await new Promise((r) => setTimeout(r, 100));
    const grown = settle() - before;
    // Pinned, every retained message holds at least one 64 KiB slab: ~38 MiB here. Own memory is a few bytes each.
    assert.ok(
      grown < 6 * 1024 * 1024,
      `array buffer memory grew by ${(grown / 1048576).toFixed(1)} MiB for ${retainedCount} small retained messages`,
    );
  });
});

test('a retained message keeps its encoded frame only while among the last ones used; live fan-out reuses it', () => {
  const retained = (i: number): Message => {
    const m = new Message(`r/${i}`, Buffer.from(`v${i}`), 0, true, undefined, 'p', 0);
    m.keepLong();
    return m;
  };
  const first = retained(0);
  const frame = first.frame;
  // Every subscriber of one PUBLISH in a row: one frame.
  for (let k = 0; k < 100; k++) assert.equal(first.frame, frame);
  // A `#` subscriber over many retained messages: each builds its frame; the oldest ones give theirs up.
  const others = Array.from({ length: 2000 }, (_, i) => retained(i + 1));
  for (const m of others) assert.ok(m.frame);
  assert.notEqual(first.frame, frame, 'the frame of a retained message unused since 2,000 others is dropped');
  const last = others.at(-1)!;
  assert.equal(last.frame, last.frame);
  // A message that is not retained keeps its frame for as long as it lives (it is short-lived).
  const live = new Message('t', Buffer.from('x'), 0, false, undefined, 'p', 0);
  const liveFrame = live.frame;
  for (const m of others) m.frame;
  assert.equal(live.frame, liveFrame);
});
