// The binary form of messages between nodes: every field a receiving node needs survives the round trip, many
// records share one body, and a truncated body is refused rather than misread.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/broker/message.js';
import { decodeRecords, encodeRecords } from '../../src/cluster/message-codec.js';

test('topic, payload bytes, QoS, RETAIN, origin, expiry, cluster id, properties and share groups survive the round trip', () => {
  const payload = Buffer.from([0, 1, 2, 255, 0x80]);
  const withAll = new Message(
    'a/ü/b',
    payload,
    2,
    true,
    {
      contentType: 'bin',
      userProperties: [
        ['k', 'v'],
        ['k', 'w'],
      ],
      correlationData: Buffer.from('id'),
    },
    'publisher-1',
    1_800_000_000_123,
  );
  withAll.clusterEpoch = 4_000_000_000;
  withAll.clusterSeq = 2 ** 40 + 7;
  const plain = new Message('x', Buffer.alloc(0), 0, false, undefined, '', 0);
  const body = encodeRecords([
    {
      message: withAll,
      regular: true,
      groups: [
        { name: 'g', filter: 'a/+/b' },
        { name: 'h', filter: '#' },
      ],
    },
    { message: plain, regular: false, groups: undefined },
  ]);
  const [one, two, more] = decodeRecords(body);
  assert.equal(more, undefined);
  const m = one!.message;
  assert.equal(m.topic, 'a/ü/b');
  assert.deepEqual([...m.payload], [...payload]);
  assert.equal(m.qos, 2);
  assert.equal(m.retain, true);
  assert.equal(m.origin, 'publisher-1');
  assert.equal(m.expiresAt, 1_800_000_000_123);
  // The cluster-wide id (origin node's epoch, sequence): what an adopted session dedups by.
  assert.deepEqual([m.clusterEpoch, m.clusterSeq], [4_000_000_000, 2 ** 40 + 7]);
  assert.equal(m.properties?.contentType, 'bin');
  assert.deepEqual(m.properties?.userProperties, [
    ['k', 'v'],
    ['k', 'w'],
  ]);
  assert.equal(m.properties?.correlationData?.toString(), 'id');
  assert.equal(one!.regular, true);
  assert.deepEqual(one!.groups, [
    { name: 'g', filter: 'a/+/b' },
    { name: 'h', filter: '#' },
  ]);
  assert.equal(two!.message.topic, 'x');
  assert.equal(two!.message.payload.length, 0);
  assert.equal(two!.message.properties, undefined);
  assert.deepEqual([two!.message.clusterEpoch, two!.message.clusterSeq], [0, 0]);
  assert.equal(two!.regular, false);
  assert.deepEqual(two!.groups, []);
});

test('a truncated body is refused', () => {
  const body = encodeRecords([
    {
      message: new Message('t', Buffer.from('payload'), 1, false, undefined, 'c', 0),
      regular: true,
      groups: undefined,
    },
  ]);
  assert.throws(() => decodeRecords(body.subarray(0, body.length - 3)));
  assert.throws(() => decodeRecords(body.subarray(0, 4)));
});
