// PublishFrame must write exactly what encodePacket writes for the equivalent packet, sharing buffers where it can.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { QoS } from '../../src/protocol/packets.js';
import { type PublishExtra, PublishFrame } from '../../src/protocol/publish-frame.js';
import { seedFastCheck } from '../helpers/seed.js';
import { properties, topicName, version } from './arbitraries.js';

seedFastCheck('publish-frame properties');

class Capture {
  readonly chunks: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const extraArb: fc.Arbitrary<PublishExtra | undefined> = fc.option(
  fc.record(
    {
      subscriptionIdentifiers: fc.array(fc.integer({ min: 1, max: 268435455 }), { maxLength: 3 }),
      topicAlias: fc.integer({ min: 1, max: 65535 }),
      omitTopic: fc.boolean(),
      messageExpiryInterval: fc.integer({ min: 0, max: 0xffffffff }),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

test('PublishFrame.writeTo equals encodePacket of the equivalent packet, for every variant', () => {
  fc.assert(
    fc.property(
      topicName(),
      fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1000, maxLength: 3000 })),
      properties(3),
      version,
      fc.constantFrom<QoS>(0, 1, 2),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 1, max: 65535 }),
      extraArb,
      (topic, payload, props, v, qos, retain, dup, id, extra) => {
        const frame = new PublishFrame(topic, Buffer.from(payload), props);
        const d = qos > 0 && dup;
        const sink = new Capture();
        const written = frame.writeTo(sink, v, qos, retain, d, id, extra);
        const expected = encodePacket(frame.packetFor(v, qos, retain, d, id, extra), v);
        assert.deepEqual(sink.bytes(), expected);
        assert.equal(written, expected.length);
        assert.equal(frame.sizeFor(v, qos, extra), expected.length);
      },
    ),
    { numRuns: 500 },
  );
});

test('QoS 0 variant is built once: the identical Buffer is written to every subscriber', () => {
  const frame = new PublishFrame('a/b', Buffer.from('hello'), { contentType: 'text/plain' });
  const a = new Capture();
  const b = new Capture();
  frame.writeTo(a, 5, 0, false, false, 0);
  frame.writeTo(b, 5, 0, false, false, 0);
  assert.equal(a.chunks[0], b.chunks[0]);
  const c = new Capture();
  frame.writeTo(c, 4, 0, true, false, 0);
  frame.writeTo(c, 4, 0, true, false, 0, { subscriptionIdentifiers: [3] }); // ignored below level 5
  assert.equal(c.chunks[0], c.chunks[1]);
});

test('large payloads are written as a header chunk plus the shared payload buffer', () => {
  const payload = Buffer.alloc(4096, 7);
  const frame = new PublishFrame('big', payload);
  const sink = new Capture();
  frame.writeTo(sink, 4, 1, false, false, 9);
  assert.equal(sink.chunks.length, 2);
  assert.equal(sink.chunks[1], payload);
});

test('per-subscriber properties follow Mosquitto order: subscription ids first, expiry last', () => {
  const frame = new PublishFrame('t', Buffer.from('x'), {
    messageExpiryInterval: 60,
    contentType: 'c',
    topicAlias: 4,
  });
  const p = frame.packetFor(5, 1, false, false, 1, {
    subscriptionIdentifiers: [2],
    messageExpiryInterval: 30,
  });
  assert.deepEqual(Object.keys(p.properties ?? {}), [
    'subscriptionIdentifiers',
    'contentType',
    'messageExpiryInterval',
  ]);
  assert.equal(p.properties?.messageExpiryInterval, 30);
});
