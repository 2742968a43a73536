// Packets whose body needs a multi-byte Remaining Length, at every protocol level: the encoder and the fan-out
// encoder agree with mqtt-packet byte for byte, and the decoder reads them back whole and split.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { Packet, ProtocolVersion, PublishPacket } from '../../src/protocol/packets.js';
import { PublishFrame } from '../../src/protocol/publish-frame.js';
import { decodeChunks } from './helpers.js';
import { mqttGenerate, toMqttPacket } from './mqtt-packet-oracle.js';

/** Bodies around the 1-, 2- and 3-byte Remaining Length boundaries (127 / 16,383 / 2,097,151). */
const SIZES = [126, 127, 128, 300, 16_382, 16_383, 16_384, 70_000, 2_097_152];

function collect(frame: PublishFrame, v: ProtocolVersion, qos: 0 | 1 | 2, packetId: number): Buffer {
  const parts: Buffer[] = [];
  frame.writeTo({ write: (b: Buffer) => parts.push(Buffer.from(b)) }, v, qos, false, false, packetId);
  return Buffer.concat(parts);
}

for (const v of [3, 4, 5] as const) {
  test(`[MQTT-2.2.3-1] level ${v}: PUBLISH with multi-byte Remaining Length matches mqtt-packet and decodes`, () => {
    for (const size of SIZES) {
      for (const qos of [0, 1] as const) {
        const packet: PublishPacket = {
          type: 3,
          topic: 'long/remaining/length',
          payload: Buffer.alloc(size, size % 251),
          qos,
          retain: false,
          dup: false,
          packetId: qos === 0 ? 0 : 7,
        };
        const bytes = encodePacket(packet, v);
        assert.deepEqual(bytes, mqttGenerate(toMqttPacket(packet, v), v), `size ${size} qos ${qos}`);
        assert.deepEqual(
          collect(new PublishFrame(packet.topic, packet.payload), v, qos, packet.packetId),
          bytes,
        );
        const whole = decodeChunks([bytes], v);
        assert.equal(whole.errors.length, 0);
        assert.equal((whole.packets[0] as PublishPacket).payload.length, size);
        const split = decodeChunks([bytes.subarray(0, 3), bytes.subarray(3, 1000), bytes.subarray(1000)], v);
        assert.equal(split.errors.length, 0);
        assert.deepEqual((split.packets[0] as PublishPacket).payload, packet.payload);
      }
    }
  });

  test(`[MQTT-2.2.3-1] level ${v}: SUBSCRIBE with many filters (long body) matches mqtt-packet`, () => {
    const subscriptions = Array.from({ length: 40 }, (_, i) => ({
      topicFilter: `sensors/${i}/+/temperature`,
      qos: (i % 3) as 0 | 1 | 2,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0 as const,
    }));
    const packet: Packet = { type: 8, packetId: 42, subscriptions };
    const bytes = encodePacket(packet, v);
    assert.ok(bytes.length > 130);
    assert.deepEqual(bytes, mqttGenerate(toMqttPacket(packet, v), v));
    const { packets, errors } = decodeChunks([bytes], v);
    assert.equal(errors.length, 0);
    assert.equal((packets[0] as { subscriptions: unknown[] }).subscriptions.length, 40);
  });
}
