// SubscriptionRecord keeps the options Router.match does not read (the filter as sent when it differs, the share
// group, Retain Handling) apart and only when set; the topic tree gives equal filters one string. What a record
// reports must not depend on either.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/broker/session.js';
import { SubscriptionRecord } from '../../src/broker/subscription.js';
import { TopicTree } from '../../src/broker/topic-tree.js';

function record(filter: string, matchFilter: string, group?: string, retainHandling: 0 | 1 | 2 = 0) {
  return new SubscriptionRecord(
    new Session('c'),
    filter,
    matchFilter,
    group,
    1,
    false,
    false,
    retainHandling,
    7,
  );
}

test('a plain subscription reports its filter, no share group and Retain Handling 0', () => {
  const r = record('a/b', 'a/b');
  assert.equal(r.filter, 'a/b');
  assert.equal(r.matchFilter, 'a/b');
  assert.equal(r.shareGroup, undefined);
  assert.equal(r.retainHandling, 0);
  r.retainHandling = 2; // a SUBSCRIBE to the same filter again, with new options
  assert.equal(r.retainHandling, 2);
  r.retainHandling = 0;
  assert.equal(r.retainHandling, 0);
  assert.equal(r.filter, 'a/b');
});

test('a mount point, a share group and Retain Handling are kept as given', () => {
  const mounted = record('a/b', 'mnt/a/b', undefined, 1);
  assert.equal(mounted.filter, 'a/b');
  assert.equal(mounted.matchFilter, 'mnt/a/b');
  assert.equal(mounted.retainHandling, 1);
  const shared = record('$share/g/x/+', 'x/+', 'g');
  assert.equal(shared.filter, '$share/g/x/+');
  assert.equal(shared.matchFilter, 'x/+');
  assert.equal(shared.shareGroup, 'g');
  assert.equal(shared.retainHandling, 0);
  shared.retainHandling = 2;
  assert.equal(shared.retainHandling, 2);
  assert.equal(shared.shareGroup, 'g');
});

test('subscriptions to an equal filter through the tree still match, report and remove as before', () => {
  const tree = new TopicTree();
  const text = ['s', 'r', '1'];
  const a = record(text.join('/'), text.join('/'));
  const b = record(['s', 'r', '1'].join('/'), ['s', 'r', '1'].join('/'));
  const mounted = record('r/1', 's/r/1', undefined, 2);
  const hashA = record('s/#', 's/#');
  const hashB = record(`s/${'#'}`, `s/${'#'}`);
  for (const e of [a, b, mounted, hashA, hashB]) tree.add(e);
  assert.equal(tree.match('s/r/1').entries.length, 5);
  assert.equal(b.filter, 's/r/1');
  assert.equal(mounted.filter, 'r/1', 'the filter as sent stays the one sent');
  assert.equal(mounted.matchFilter, 's/r/1');
  assert.equal(hashB.filter, 's/#');
  tree.remove(b);
  tree.remove(hashA);
  assert.deepEqual(
    tree
      .match('s/r/1')
      .entries.map((e) => e.filter)
      .sort(),
    ['r/1', 's/#', 's/r/1'],
  );
  assert.equal(tree.size, 3);
});
