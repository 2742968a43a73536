// PublishBatch must write exactly the bytes encodePacket writes for the same packets, in order, and never
// touch a chunk it has already handed to the sink.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodePacket } from '../../src/protocol/encoder.js';
import { BATCH_PACKET_MAX, PublishBatch } from '../../src/protocol/publish-batch.js';
import { seedFastCheck } from '../helpers/seed.js';
import { topicName } from './arbitraries.js';

seedFastCheck('publish-batch properties');

class Capture {
  readonly chunks: Buffer[] = [];
  readonly copies: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.copies.push(Buffer.from(chunk));
    return true;
  }
}

const item = fc.record({
  topic: topicName(),
  payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  retain: fc.boolean(),
  raw: fc.boolean(),
});

test('[MQTT-3.3.1-9] batched QoS 0 PUBLISHes (retained messages) are byte-identical to encodePacket output', () => {
  fc.assert(
    fc.property(fc.array(item, { maxLength: 400 }), fc.array(fc.nat(400)), (items, flushAt) => {
      const sink = new Capture();
      const batch = new PublishBatch(sink);
      const expected: Buffer[] = [];
      items.forEach((it, i) => {
        const packet = encodePacket(
          {
            type: 3,
            topic: it.topic,
            payload: it.payload,
            qos: 0,
            retain: it.retain,
            dup: false,
            packetId: 0,
          },
          4,
        );
        const fits = packet.length <= BATCH_PACKET_MAX;
        const added = it.raw ? batch.addRaw(packet) : batch.addPublish(it.topic, it.payload, it.retain);
        assert.equal(added, fits);
        if (!added) {
          batch.flush();
          sink.write(packet);
        }
        expected.push(packet);
        if (flushAt.includes(i)) batch.flush();
      });
      batch.flush();
      assert.deepEqual(Buffer.concat(sink.chunks), Buffer.concat(expected));
      // Chunks already handed over were not overwritten by later packets.
      sink.chunks.forEach((chunk, i) => {
        assert.deepEqual(chunk, sink.copies[i]);
      });
    }),
    { numRuns: 60 },
  );
});

test('a batch hands the sink large chunks, not one per packet', () => {
  const sink = new Capture();
  const batch = new PublishBatch(sink);
  for (let i = 0; i < 10_000; i++) batch.addPublish(`bench/r/${i}`, Buffer.alloc(64, 1), true);
  batch.flush();
  assert.ok(sink.chunks.length <= 20, `${sink.chunks.length} writes`);
  assert.equal(
    sink.chunks.reduce((n, c) => n + c.length, 0),
    Array.from({ length: 10_000 }, (_, i) => 2 + 2 + `bench/r/${i}`.length + 64).reduce((a, b) => a + b, 0),
  );
});
