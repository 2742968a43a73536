// The low-level string writers against Node's own UTF-8 encoder, including the ASCII fast paths.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringSize, utf8Length, writeString, writeStringOfLength } from '../../src/protocol/writer.js';
import { seedFastCheck } from '../helpers/seed.js';

seedFastCheck('writer properties');

const strings = fc.oneof(
  fc.string({ maxLength: 100 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.integer({ min: 40, max: 56 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 40, max: 56 }).map((n) => `${'a'.repeat(n - 1)}é`),
);

test('[MQTT-1.5.4-1] utf8Length, stringSize and both string writers agree with Buffer.from(s, "utf8")', () => {
  fc.assert(
    fc.property(strings, (s) => {
      const expected = Buffer.from(s, 'utf8');
      assert.equal(utf8Length(s), expected.length);
      assert.equal(stringSize(s), expected.length + 2);
      const a = Buffer.alloc(expected.length + 4, 0xee);
      assert.equal(writeString(a, 1, s), expected.length + 3);
      assert.equal(a.readUInt16BE(1), expected.length);
      assert.deepEqual(a.subarray(3, 3 + expected.length), expected);
      const b = Buffer.alloc(expected.length + 4, 0xee);
      assert.equal(writeStringOfLength(b, 1, s, expected.length), expected.length + 3);
      assert.deepEqual(b, a);
    }),
    { numRuns: 3000 },
  );
});
