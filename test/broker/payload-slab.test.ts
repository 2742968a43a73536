// Small retained payloads share slabs (src/broker/payload-slab.ts): the bytes must survive compaction, replaced
// and deleted messages must free their share, and the slabs must stay within ~4x the live bytes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/broker/message.js';
import { TrieRetainedStore } from '../../src/broker/retained-store.js';

const SLAB = 64 * 1024;

function retained(topic: string, text: string): Message {
  return new Message(topic, Buffer.from(text), 0, true, undefined, 'p', 0);
}

test('small retained payloads are copied into shared slabs and read back unchanged', () => {
  const store = new TrieRetainedStore();
  const source = Buffer.from('value 1');
  store.set(new Message('a/1', source, 0, true, undefined, 'p', 0));
  source.fill(0x7a); // the store's copy does not alias what the message was built from
  assert.equal(store.get('a/1')?.payload.toString(), 'value 1');
  assert.equal(store.get('a/1')?.payload.buffer.byteLength, SLAB);
  assert.equal(store.slabs.stats().liveBytes, 7);
  // A large payload keeps a buffer of its own.
  const big = new Message('a/big', Buffer.alloc(5000, 0x62), 0, true, undefined, 'p', 0);
  store.set(big);
  assert.equal(store.get('a/big')?.payload.length, 5000);
  assert.equal(store.slabs.stats().liveBytes, 7);
});

test('replacing retained messages again and again compacts the slabs and keeps every payload intact', () => {
  const store = new TrieRetainedStore();
  const topics = 2000;
  let round = 0;
  for (; round < 40; round++) {
    for (let i = 0; i < topics; i++) {
      // Replace three in four topics each round, the rest stay put (their payloads get moved by compaction).
      if (round > 0 && i % 4 === 0) continue;
      store.set(retained(`t/${i}`, `round ${round} topic ${i} ${'x'.repeat(i % 50)}`));
    }
  }
  let live = 0;
  for (let i = 0; i < topics; i++) {
    const text = store.get(`t/${i}`)?.payload.toString();
    const r = i % 4 === 0 ? 0 : round - 1;
    assert.equal(text, `round ${r} topic ${i} ${'x'.repeat(i % 50)}`);
    live += text!.length;
  }
  const { slabs, liveBytes } = store.slabs.stats();
  assert.equal(liveBytes, live);
  assert.ok(slabs * SLAB <= 4 * live + 2 * SLAB, `${slabs} slabs for ${live} live payload bytes`);
  assert.equal(store.size, topics);
});

test('deleted and expired retained messages free their share of the slabs', () => {
  const store = new TrieRetainedStore();
  for (let i = 0; i < 3000; i++) store.set(retained(`d/${i}`, 'y'.repeat(100)));
  assert.ok(store.slabs.stats().slabs >= 4);
  for (let i = 0; i < 3000; i++) store.set(retained(`d/${i}`, ''));
  assert.equal(store.size, 0);
  assert.deepEqual(store.slabs.stats(), { slabs: 1, liveBytes: 0 });
  const now = Date.now();
  for (let i = 0; i < 10; i++)
    store.set(new Message(`e/${i}`, Buffer.from('zz'), 0, true, undefined, 'p', now + 10));
  assert.equal(store.match('e/#', now + 20).length, 0);
  assert.equal(store.slabs.stats().liveBytes, 0);
});

test('a message retained again after it was replaced is placed anew (its old share was freed)', () => {
  const store = new TrieRetainedStore();
  const first = retained('r', 'first');
  store.set(first);
  store.set(retained('r', 'second'));
  store.set(first);
  assert.equal(store.get('r')?.payload.toString(), 'first');
  assert.equal(store.slabs.stats().liveBytes, 5);
  store.set(first); // the same message twice: counted once
  assert.equal(store.slabs.stats().liveBytes, 5);
});

test('a message the store lets go of keeps its payload in a buffer of its own (it may still be queued)', () => {
  const store = new TrieRetainedStore();
  const first = retained('q', 'queued value');
  store.set(first);
  assert.equal(first.payload.buffer.byteLength, SLAB);
  store.set(retained('q', 'newer value'));
  // Still readable, and no longer a view of a slab that compaction would otherwise have to keep for it.
  assert.equal(first.payload.toString(), 'queued value');
  assert.equal(first.payload.buffer.byteLength, first.payload.length);
  const deleted = store.get('q')!;
  store.set(retained('q', ''));
  assert.equal(deleted.payload.toString(), 'newer value');
  assert.equal(deleted.payload.buffer.byteLength, deleted.payload.length);
});
