// The retained store keeps a topic with nothing retained below it as a leaf (the message itself) and makes a
// node only where a longer topic needs one: get, match and an incremental scan must see the same messages
// whichever form a level is in, through every change between them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/broker/message.js';
import { TrieRetainedStore } from '../../src/broker/retained-store.js';
import { seededRng } from '../helpers/seed.js';
import { matchesByRule } from '../helpers/topic-rule.js';

const retained = (topic: string, text: string): Message =>
  new Message(topic, Buffer.from(text), 0, true, undefined, 'p', 0);

const texts = (messages: Message[]): string[] => messages.map((m) => `${m.topic}=${m.payload}`).sort();

test('random sets and deletes over nested topics: get and match agree with a plain map', () => {
  const topics = ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/c', 'b', 'b/a', '$s', '$s/a', 'a/b/e'];
  const filters = ['#', 'a/#', 'a/+', '+/+', 'a/b/#', '+', 'a/b/c', '$s/#', '+/a', 'a/+/c/#'];
  const expected = new Map<string, string>();
  const store = new TrieRetainedStore();
  const rng = seededRng('retained-trie');
  const random = (n: number): number => rng.int(n);
  for (let step = 0; step < 800; step++) {
    const topic = topics[random(topics.length)]!;
    if (random(3) === 0) {
      store.set(retained(topic, ''));
      expected.delete(topic);
    } else {
      store.set(retained(topic, `v${step}`));
      expected.set(topic, `v${step}`);
    }
    assert.equal(store.size, expected.size, `step ${step}`);
    for (const t of topics)
      assert.equal(store.get(t)?.payload.toString(), expected.get(t), `step ${step} get ${t}`);
    const filter = filters[random(filters.length)]!;
    const want = [...expected]
      .filter(([t]) => matchesByRule(filter, t))
      .map(([t, v]) => `${t}=${v}`)
      .sort();
    assert.deepEqual(texts(store.match(filter, Date.now())), want, `step ${step} match ${filter}`);
    assert.deepEqual(texts([...store.all()]), [...expected].map(([t, v]) => `${t}=${v}`).sort());
  }
});

test('a scan skips what was replaced, deleted or set after it began, leaf or node alike', () => {
  const store = new TrieRetainedStore();
  for (let i = 0; i < 20; i++) store.set(retained(`s/${i}`, `old ${i}`));
  store.set(retained('s/5/deeper', 'old deeper')); // s/5 becomes a node
  const scan = store.scan('s/#');
  // After the scan began: s/1 (a leaf) and s/5 (a node) replaced, s/2 deleted, s/9 made a node, s/new added.
  store.set(retained('s/1', 'new 1'));
  store.set(retained('s/5', 'new 5'));
  store.set(retained('s/2', ''));
  store.set(retained('s/9/below', 'new below'));
  store.set(retained('s/new', 'new'));
  const out: Message[] = [];
  while (scan.next(3, Date.now(), out));
  const got = texts(out);
  const want = Array.from({ length: 20 }, (_, i) => i)
    .filter((i) => i !== 1 && i !== 2 && i !== 5)
    .map((i) => `s/${i}=old ${i}`)
    .concat('s/5/deeper=old deeper')
    .sort();
  assert.deepEqual(got, want);
});

test('an expired leaf is removed when a match meets it, and the levels above it with it', () => {
  const store = new TrieRetainedStore();
  const now = Date.now();
  store.set(new Message('x/y/z', Buffer.from('soon'), 0, true, undefined, 'p', now + 5));
  store.set(retained('x/k', 'stays'));
  assert.equal(store.size, 2);
  assert.deepEqual(texts(store.match('x/#', now + 10)), ['x/k=stays']);
  assert.equal(store.size, 1);
  assert.equal(store.get('x/y/z'), undefined);
  store.set(retained('x/k', ''));
  assert.equal(store.size, 0);
  assert.deepEqual([...store.all()], []);
});
