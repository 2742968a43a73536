// Property tests: decode(encode(p)) == p for every packet type and level, under every chunking of the stream.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { seedFastCheck } from '../helpers/seed.js';
import { packet } from './arbitraries.js';
import { decodeChunks, plain, splitAt } from './helpers.js';

seedFastCheck('roundtrip properties');

const RUNS = 300;

/** CONNECT must come first on a connection for the decoder to learn the level; other packets need it preset. */
function roundTrip(v: ProtocolVersion, p: Packet): void {
  const bytes = encodePacket(p, v);
  const { packets, errors } = decodeChunks([bytes], v);
  assert.deepEqual(errors, []);
  assert.deepEqual(plain(packets), plain([p]));
}

for (const v of [3, 4, 5] as const) {
  test(`round trip: every packet type at level ${v}`, () => {
    fc.assert(
      fc.property(packet(v), (p) => roundTrip(v, p)),
      { numRuns: RUNS * 3 },
    );
  });

  test(`[MQTT-1.5.5] stream of packets at level ${v} decodes the same under any chunking`, () => {
    fc.assert(
      fc.property(
        fc.array(
          packet(v).filter((p) => p.type !== 1),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (packets, cuts) => {
          const stream = Buffer.concat(packets.map((p) => encodePacket(p, v)));
          const whole = decodeChunks([stream], v);
          const chunked = decodeChunks(
            splitAt(
              stream,
              cuts.map((c) => c % (stream.length + 1)),
            ),
            v,
          );
          const bytewise = decodeChunks(
            [...stream].map((x) => Buffer.from([x])),
            v,
          );
          assert.deepEqual(whole.errors, []);
          assert.deepEqual(plain(whole.packets), plain(packets));
          assert.deepEqual(plain(chunked.packets), plain(packets));
          assert.deepEqual(chunked.errors, []);
          assert.deepEqual(plain(bytewise.packets), plain(packets));
        },
      ),
      { numRuns: RUNS },
    );
  });
}

test('CONNECT sets the decoder protocol level for the packets that follow', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<ProtocolVersion>(3, 4, 5).chain((v) => fc.tuple(fc.constant(v), packet(v))),
      ([v, p]) => {
        fc.pre(p.type !== 1);
        const connect: Packet = {
          type: 1,
          protocolName: v === 3 ? 'MQIsdp' : 'MQTT',
          protocolVersion: v,
          cleanStart: true,
          keepAlive: 0,
          clientId: 'x',
        };
        const stream = Buffer.concat([encodePacket(connect, v), encodePacket(p, v)]);
        const { packets, errors } = decodeChunks([stream], v === 4 ? 5 : 4);
        assert.deepEqual(errors, []);
        assert.deepEqual(plain(packets), plain([connect, p]));
      },
    ),
    { numRuns: RUNS },
  );
});

test('a PUBLISH wholly inside one chunk gets a zero-copy payload', () => {
  const p: Packet = {
    type: 3,
    topic: 't',
    payload: Buffer.from('payload'),
    qos: 0,
    retain: false,
    dup: false,
    packetId: 0,
  };
  const chunk = encodePacket(p, 4);
  const { packets } = decodeChunks([chunk], 4);
  const got = packets[0];
  assert.ok(got !== undefined && got.type === 3);
  assert.equal(got.payload.buffer, chunk.buffer);
});
