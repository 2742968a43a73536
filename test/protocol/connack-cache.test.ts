// CONNACKs without properties come from shared buffers (one per version family, Session Present and code): the
// bytes must stay exact for every combination, and a kept buffer must not pin an output slab.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { ProtocolVersion } from '../../src/protocol/packets.js';

test('[MQTT-3.2.2-1] CONNACK bytes for every version, Session Present and code, from the shared buffers', () => {
  for (const version of [3, 4, 5] as ProtocolVersion[]) {
    for (const sessionPresent of [false, true]) {
      for (const reasonCode of [0, 1, 2, 5, 0x80, 0x87, 0x89]) {
        const expected =
          version === 5
            ? [0x20, 3, sessionPresent ? 1 : 0, reasonCode, 0]
            : [0x20, 2, sessionPresent ? 1 : 0, reasonCode];
        for (const packet of [
          { type: 2 as const, sessionPresent, reasonCode },
          { type: 2 as const, sessionPresent, reasonCode, properties: {} },
        ]) {
          const first = encodePacket(packet, version);
          assert.deepEqual([...first], expected, `v${version} sp=${sessionPresent} rc=${reasonCode}`);
          // Shared: the same buffer each time, and one of its own (not a slice of a larger block).
          assert.equal(encodePacket(packet, version), first);
          assert.equal(first.buffer.byteLength, first.length);
        }
      }
    }
  }
});

test('[MQTT-3.2.2-1] a CONNACK with properties is encoded afresh, not shared', () => {
  const packet = {
    type: 2 as const,
    sessionPresent: false,
    reasonCode: 0,
    properties: { topicAliasMaximum: 10 },
  };
  const a = encodePacket(packet, 5);
  assert.deepEqual([...a], [0x20, 6, 0, 0, 3, 0x22, 0, 10]);
  assert.notEqual(encodePacket(packet, 5), a);
});
