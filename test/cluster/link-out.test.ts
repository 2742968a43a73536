// A tick's QoS 0 copies for another worker, encoded into link frames as they are made (src/cluster/link-out.ts):
// the frames parse back to the same records in order, a message with share groups there is one record, and a
// large tick is cut into frames of about a socket read.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/broker/message.js';
import { FRAME_HEADER, LinkOut, RECORDS } from '../../src/cluster/link-out.js';
import { RecordReader } from '../../src/cluster/message-codec.js';

interface Read {
  topic: string;
  payload: string;
  regular: boolean;
  groups: string[];
}

function readFrames(frames: readonly Buffer[]): Read[][] {
  const reader = new RecordReader();
  return frames.map((f) => {
    assert.equal(f.readUInt32BE(0), f.length - 4, 'length field');
    assert.equal(f[4], RECORDS);
    reader.reset(f.subarray(FRAME_HEADER));
    const out: Read[] = [];
    while (reader.next()) {
      const m = reader.message!;
      out.push({
        topic: m.topic,
        payload: m.payload.toString(),
        regular: reader.regular,
        groups: reader.groups.map((g) => `${g.name}/${g.filter}`),
      });
    }
    return out;
  });
}

const msg = (topic: string, payload = 'x'): Message =>
  new Message(topic, Buffer.from(payload), 0, false, undefined, 'c', 0);

test('link out: copies parse back in order; share groups of one message join its record', () => {
  const out = new LinkOut();
  const a = msg('a/1', 'one');
  const b = msg('a/2', 'two');
  assert.equal(out.add(a, true, undefined), true);
  assert.equal(out.add(a, false, { name: 'g', filter: 'a/#' }), false, 'joins the copy of a');
  assert.equal(out.add(b, false, { name: 'h', filter: 'a/+' }), true);
  assert.equal(out.add(b, true, undefined), false);
  assert.equal(out.count, 2);
  const frames = out.close();
  assert.equal(frames.length, 1);
  assert.deepEqual(readFrames(frames), [
    [
      { topic: 'a/1', payload: 'one', regular: true, groups: ['g/a/#'] },
      { topic: 'a/2', payload: 'two', regular: true, groups: ['h/a/+'] },
    ],
  ]);
  out.clear();
  assert.equal(out.count, 0);
  assert.equal(out.close().length, 0, 'an empty tick has no frame');
});

test('link out: a large tick is cut into frames of about 64 KiB; a record larger than that gets its own', () => {
  const out = new LinkOut();
  const payload = 'p'.repeat(1000);
  for (let i = 0; i < 200; i++) out.add(msg(`t/${i}`, payload), true, undefined);
  const big = 'B'.repeat(200 * 1024);
  out.add(msg('big', big), true, undefined);
  out.add(msg('after'), true, undefined);
  const frames = out.close();
  assert.ok(frames.length >= 4, `${frames.length} frames`);
  for (const f of frames.slice(0, 2)) assert.ok(f.length <= 64 * 1024 && f.length > 48 * 1024, `${f.length}`);
  const read = readFrames(frames).flat();
  assert.equal(read.length, 202);
  assert.deepEqual(
    read.slice(0, 200).map((r) => r.topic),
    Array.from({ length: 200 }, (_, i) => `t/${i}`),
  );
  assert.ok(read.slice(0, 200).every((r) => r.payload === payload));
  assert.equal(read[200]!.payload, big);
  assert.equal(read[201]!.topic, 'after');
  out.clear();
  // The next tick starts where this one ended: still whole records.
  out.add(msg('next'), true, undefined);
  assert.deepEqual(readFrames(out.close()), [[{ topic: 'next', payload: 'x', regular: true, groups: [] }]]);
});
