// Unit tests for MQTT topic-filter matching as used by the ACL code.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidFilter, topicMatches } from '../../src/auth/topic-match.js';

test('[MQTT-4.7.1-2] multi-level wildcard matches the parent and every descendant', () => {
  assert.equal(topicMatches('sport/#', 'sport'), true);
  assert.equal(topicMatches('sport/#', 'sport/tennis/player1'), true);
  assert.equal(topicMatches('#', 'a/b/c'), true);
  assert.equal(topicMatches('sport/#', 'sports'), false);
});

test('[MQTT-4.7.1-3] single-level wildcard matches exactly one level, including an empty one', () => {
  assert.equal(topicMatches('sport/+', 'sport/tennis'), true);
  assert.equal(topicMatches('sport/+', 'sport/tennis/x'), false);
  assert.equal(topicMatches('sport/+', 'sport'), false);
  assert.equal(topicMatches('sport/+', 'sport/'), true);
  assert.equal(topicMatches('+/+', '/finance'), true);
  assert.equal(topicMatches('+/monitor/#', 'a/monitor'), true);
});

test('[MQTT-4.7.2-1] topics starting with $ are not matched by filters starting with a wildcard', () => {
  assert.equal(topicMatches('#', '$SYS/broker/uptime'), false);
  assert.equal(topicMatches('+/broker/uptime', '$SYS/broker/uptime'), false);
  assert.equal(topicMatches('$SYS/#', '$SYS/broker/uptime'), true);
  assert.equal(topicMatches('$SYS/+/uptime', '$SYS/broker/uptime'), true);
});

test('[MQTT-4.7.3-1] exact matching is case- and level-sensitive', () => {
  assert.equal(topicMatches('a/b', 'a/b'), true);
  assert.equal(topicMatches('a/b', 'A/b'), false);
  assert.equal(topicMatches('a/b', 'a/b/'), false);
  assert.equal(topicMatches('/a', 'a'), false);
});

test('invalid filters and wildcard topic names never match', () => {
  for (const bad of ['a/#/b', 'a#', 'a/b+', '', '#/']) {
    assert.equal(isValidFilter(bad), false, bad);
    assert.equal(topicMatches(bad, 'a/b'), false, bad);
  }
  assert.equal(topicMatches('#', 'a/+'), false);
  assert.equal(topicMatches('a/+', 'a/#'), false);
});
