// The direct links between the workers of one process tree (src/cluster/worker-links.ts), in one process: a
// turn's records reach the other worker in one frame; a peer that does not know the token gets no answer, and
// what it sends is never routed.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { test } from 'node:test';
import { silentLogger } from '../../src/broker/logger.js';
import { Message } from '../../src/broker/message.js';
import { decodeRecords, encodeRecords } from '../../src/cluster/message-codec.js';
import { WorkerLinks, workerLinksSupported } from '../../src/cluster/worker-links.js';
import { waitFor } from '../helpers/net.js';

const skip = workerLinksSupported() ? false : 'direct links need the Linux abstract socket namespace';

function frame(type: number, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out[4] = type;
  body.copy(out, 5);
  return out;
}

test('workers: a turn of QoS 0 copies reaches the other worker in one frame; a peer without the token is refused', {
  skip,
  timeout: 10_000,
}, async () => {
  const token = randomBytes(16).toString('hex');
  const nodes = ['n-w1', 'n-w2'];
  const logger = silentLogger;
  const name = randomBytes(8).toString('hex');
  const one = await WorkerLinks.start({ name, token, self: 1, nodes }, logger);
  const two = await WorkerLinks.start({ name, token, self: 2, nodes }, logger);
  try {
    const frames: string[][] = [];
    two.onRecords = (body) => frames.push(decodeRecords(body).map((r) => r.message.topic));
    assert.ok(await waitFor(() => one.ready('n-w2') && two.ready('n-w1'), 5000), 'both links up');
    const records = ['a/1', 'a/2', 'a/3'].map((topic) => ({
      message: new Message(topic, Buffer.from('x'), 0, false, undefined, 'c', 0),
      regular: true,
      groups: undefined,
    }));
    for (const r of records) assert.ok(one.add('n-w2', r.message, r.regular, undefined), 'a new record');
    assert.ok(await waitFor(() => frames.length > 0, 5000), 'the frame arrived');
    assert.deepEqual(frames, [['a/1', 'a/2', 'a/3']]);
    assert.equal(one.counters.sent, 3);

    // Anyone on the host sees the socket's name (/proc/net/unix): without the token it gets no answer and is
    // cut off.
    const intruder = connect(`\0culex-workers-${name}-2`);
    const answered: Buffer[] = [];
    intruder.on('data', (d: Buffer) => answered.push(d));
    const closed = new Promise<void>((resolve) => intruder.on('close', () => resolve()));
    intruder.on('error', () => {});
    await new Promise<void>((resolve) => intruder.once('connect', () => resolve()));
    const forged = encodeRecords([
      { ...records[0]!, message: new Message('evil', Buffer.from('x'), 0, false, undefined, 'e', 0) },
    ]);
    intruder.write(Buffer.concat([frame(1, Buffer.from(`${'0'.repeat(32)}\nn-w1`)), frame(2, forged)]));
    await closed;
    assert.equal(Buffer.concat(answered).length, 0, 'no hello back');
    assert.deepEqual(frames, [['a/1', 'a/2', 'a/3']], 'nothing routed from it');
  } finally {
    await one.stop();
    await two.stop();
  }
});
