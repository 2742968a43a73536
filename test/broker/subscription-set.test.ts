// A session's subscriptions are a list up to 32 and a Map beyond: lookups, replacement in place, deletion,
// size and insertion order must be a Map's through the switch.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/broker/session.js';
import { SubscriptionRecord } from '../../src/broker/subscription.js';
import { SubscriptionSet } from '../../src/broker/subscription-set.js';

const session = new Session('c');
const entry = (filter: string, qos: 0 | 1 | 2 = 0) =>
  new SubscriptionRecord(session, filter, filter, undefined, qos, false, false, 0, 0);

for (const n of [3, 32, 33, 100]) {
  test(`${n} subscriptions behave as a Map of them`, () => {
    const set = new SubscriptionSet();
    const map = new Map<string, SubscriptionRecord>();
    for (let i = 0; i < n; i++) {
      const e = entry(`f/${i}`);
      set.set(e.filter, e);
      map.set(e.filter, e);
    }
    // Replacing keeps the position; deleting and adding again moves it to the end.
    const again = entry('f/1', 2);
    set.set('f/1', again);
    map.set('f/1', again);
    assert.equal(set.delete('f/0'), true);
    map.delete('f/0');
    assert.equal(set.delete('f/0'), false);
    const back = entry('f/0', 1);
    set.set('f/0', back);
    map.set('f/0', back);
    assert.equal(set.size, map.size);
    assert.deepEqual([...set.values()], [...map.values()]);
    assert.equal(set.get('f/1'), again);
    assert.equal(set.has('f/1'), true);
    assert.equal(set.get('nope'), undefined);
    set.clear();
    assert.equal(set.size, 0);
    assert.deepEqual([...set.values()], []);
  });
}
