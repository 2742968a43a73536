// The topic tree keeps a node's single subscription as itself and several as a list: matching and removal
// must see the same subscriptions whichever form a node is in, through every transition between them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/broker/session.js';
import type { SubscriptionEntry } from '../../src/broker/subscription.js';
import { TopicTree } from '../../src/broker/topic-tree.js';
import { seededRng } from '../helpers/seed.js';
import { matchesByRule } from '../helpers/topic-rule.js';

function entry(client: string, filter: string): SubscriptionEntry {
  return {
    session: new Session(client),
    filter,
    matchFilter: filter,
    shareGroup: undefined,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    identifier: 0,
  };
}

const clients = (tree: TopicTree, topic: string): string[] =>
  tree
    .match(topic)
    .entries.map((e) => e.session.clientId)
    .sort();

test('one, two, then one again and no subscription per node, for exact and # filters alike', () => {
  const tree = new TopicTree();
  const a = entry('a', 'd/1/cmd');
  const b = entry('b', 'd/1/cmd');
  const h1 = entry('h1', 'd/#');
  const h2 = entry('h2', 'd/#');
  tree.add(a);
  tree.add(h1);
  assert.deepEqual(clients(tree, 'd/1/cmd'), ['a', 'h1']);
  tree.add(b);
  tree.add(h2);
  assert.deepEqual(clients(tree, 'd/1/cmd'), ['a', 'b', 'h1', 'h2']);
  assert.deepEqual(clients(tree, 'd'), ['h1', 'h2']);
  tree.remove(a);
  tree.remove(h2);
  assert.deepEqual(clients(tree, 'd/1/cmd'), ['b', 'h1']);
  // Removing what is not there (again, or another entry of the same filter) changes nothing.
  tree.remove(a);
  tree.remove(entry('b', 'd/1/cmd'));
  assert.equal(tree.size, 2);
  assert.deepEqual(clients(tree, 'd/1/cmd'), ['b', 'h1']);
  tree.remove(b);
  tree.remove(h1);
  assert.equal(tree.size, 0);
  assert.deepEqual(clients(tree, 'd/1/cmd'), []);
  // Emptied nodes were pruned: a new subscription starts from a clean path.
  tree.add(a);
  assert.deepEqual(clients(tree, 'd/1/cmd'), ['a']);
});

test('many subscribers on one filter, removed in any order', () => {
  const tree = new TopicTree();
  const all = Array.from({ length: 12 }, (_, i) => entry(`c${String(i).padStart(2, '0')}`, 'x/+'));
  for (const e of all) tree.add(e);
  assert.equal(clients(tree, 'x/y').length, 12);
  for (const i of [0, 11, 5, 6, 1, 10, 2, 9, 3, 8, 4]) tree.remove(all[i]!);
  assert.deepEqual(clients(tree, 'x/y'), ['c07']);
  tree.remove(all[7]!);
  assert.deepEqual(clients(tree, 'x/y'), []);
  assert.equal(tree.size, 0);
});

test('a filter ending where another goes on (leaf, then node below it, then leaf again) matches as the rules say', () => {
  // A filter's last level is kept as a leaf until a longer filter, a `+` or a `#` needs a node there.
  const filters = ['a', 'a/b', 'a/b/c', 'a/+', 'a/b/#', 'a/#', '+/b', '#', 'a/b/c/d', '$s/x', '+/+/c', 'a/c'];
  const topics = ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/c', 'b/b', 'x/y/c', '$s/x', 'a/b/c/d/e'];
  const rng = seededRng('topic-tree');
  const random = (n: number): number => rng.int(n);
  const tree = new TopicTree();
  const live: SubscriptionEntry[] = [];
  for (let step = 0; step < 600; step++) {
    if (live.length > 0 && random(3) === 0) tree.remove(live.splice(random(live.length), 1)[0]!);
    else {
      const e = entry(`c${step}`, filters[random(filters.length)]!);
      live.push(e);
      tree.add(e);
    }
    const topic = topics[random(topics.length)]!;
    const expected = live
      .filter((e) => matchesByRule(e.matchFilter, topic))
      .map((e) => e.session.clientId)
      .sort();
    assert.deepEqual(clients(tree, topic), expected, `step ${step}, topic ${topic}`);
    assert.equal(tree.size, live.length);
  }
  for (const e of live) tree.remove(e);
  assert.equal(tree.size, 0);
  for (const topic of topics) assert.deepEqual(clients(tree, topic), []);
});
