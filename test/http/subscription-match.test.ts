// The admin API's subscription filters: `topic=T` matches as MQTT does (checked against the ACL matcher on seeded
// random filters and topics), `filter=F` covers filters level by level with F's wildcards.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicMatches } from '../../src/auth/topic-match.js';
import { coveredBy, reaching } from '../../src/http/admin-subscriptions.js';
import { seededRng } from '../helpers/seed.js';

test('topic=T reaches the filters MQTT matching gives [MQTT-4.7.1-1] [MQTT-4.7.2-1]', () => {
  const rng = seededRng('subscription-match');
  const words = ['a', 'b', '', '$SYS', 'x y'];
  const filterWords = [...words, '+', '#'];
  for (let n = 0; n < 5000; n++) {
    const topic = Array.from({ length: 1 + rng.int(4) }, () => rng.pick(words)).join('/');
    // A topic name has at least one character [MQTT-4.7.3-1]; the API takes an empty one as "no topic".
    if (topic === '') continue;
    const parts = Array.from({ length: 1 + rng.int(4) }, () => rng.pick(filterWords));
    const hash = parts.indexOf('#');
    const filter = (hash < 0 ? parts : parts.slice(0, hash + 1)).join('/');
    assert.equal(reaching(topic)(filter), topicMatches(filter, topic), `${filter} on ${topic}`);
  }
});

test('filter=F covers subscription filters under it, wildcards of the subscriptions read as text', () => {
  const cases: [string, string, boolean][] = [
    ['sensors/#', 'sensors/+/temp', true],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/#', true],
    ['sensors/+', 'sensors/a', true],
    ['sensors/+', 'sensors/a/b', false],
    ['sensors/+', 'sensors', false],
    ['sensors/a', 'sensors/+', false],
    ['#', '$SYS/broker/#', false],
    ['$SYS/#', '$SYS/broker/#', true],
    ['a/', 'a', false],
    ['a/+', 'a/', true],
    ['+/+', '/', true],
  ];
  for (const [pattern, filter, expected] of cases)
    assert.equal(coveredBy(pattern)(filter), expected, `${pattern} over ${filter}`);
});
