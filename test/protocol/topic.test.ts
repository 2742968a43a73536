// Topic name / filter syntax, shared subscriptions, UTF-8 string rules and reason-code mapping.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnackReturnCode, connackReturnCodeFor, ReasonCode } from '../../src/protocol/reason-codes.js';
import { parseSharedFilter, validateTopicFilter, validateTopicName } from '../../src/protocol/topic.js';
import { checkUtf8Bytes, checkUtf8String } from '../../src/protocol/utf8.js';

test('[MQTT-3.3.2-2] topic names must not contain wildcards', () => {
  assert.equal(validateTopicName('a/b/c'), null);
  assert.equal(validateTopicName('/'), null);
  assert.equal(validateTopicName('a/+')?.reasonCode, 0x90);
  assert.equal(validateTopicName('#')?.rule, 'MQTT-3.3.2-2');
  assert.equal(validateTopicName('')?.rule, 'MQTT-4.7.3-1');
});

test('[MQTT-4.7.1-1] [MQTT-4.7.1-2] wildcard placement in topic filters', () => {
  for (const ok of ['#', '+', 'a/#', 'a/+/b', '+/+', '/+', 'a//#', '$SYS/#'])
    assert.equal(validateTopicFilter(ok), null, ok);
  for (const bad of ['', 'a#', 'a/#/b', '#/', 'a+', '+a', 'a/b+', '##']) {
    assert.equal(validateTopicFilter(bad)?.reasonCode, 0x8f, bad);
  }
});

test('[MQTT-4.8.2-1] [MQTT-4.8.2-2] shared subscription syntax', () => {
  assert.deepEqual(parseSharedFilter('$share/g/a/+'), { group: 'g', filter: 'a/+' });
  assert.deepEqual(parseSharedFilter('$share/g/#'), { group: 'g', filter: '#' });
  assert.equal(parseSharedFilter('a/b'), null);
  for (const bad of [
    '$share/',
    '$share//a',
    '$share/g',
    '$share/g/',
    '$share/g+/a',
    '$share/#/a',
    '$share/g/a#',
  ]) {
    assert.notEqual(validateTopicFilter(bad), null, bad);
    assert.equal(parseSharedFilter(bad), null, bad);
  }
});

test('[MQTT-1.5.4-1] [MQTT-1.5.4-2] UTF-8 string rules on strings and bytes', () => {
  assert.equal(checkUtf8String('héllo ✓ 𝄞'), null);
  assert.equal(checkUtf8String('a\u0000b')?.rule, 'MQTT-1.5.4-2');
  assert.equal(checkUtf8String('\ud800')?.rule, 'MQTT-1.5.4-1');
  assert.notEqual(checkUtf8String('a\u0001'), null);
  assert.notEqual(checkUtf8String('\ufffe'), null);
  assert.equal(checkUtf8String('x'.repeat(65536))?.rule, 'MQTT-1.5.4-length');
  const b = (a: number[]) => Buffer.from(a);
  assert.equal(checkUtf8Bytes(b([0xe2, 0x9c, 0x93]), 0, 3), null);
  assert.notEqual(checkUtf8Bytes(b([0xc0, 0x80]), 0, 2), null); // overlong NUL
  assert.notEqual(checkUtf8Bytes(b([0xc2, 0x85]), 0, 2), null); // C1 control
  assert.notEqual(checkUtf8Bytes(b([0xef, 0xb7, 0x90]), 0, 3), null); // U+FDD0
  assert.notEqual(checkUtf8Bytes(b([0xf4, 0x8f, 0xbf, 0xbf]), 0, 4), null); // U+10FFFF
  assert.equal(checkUtf8Bytes(b([0xf0, 0x9f, 0x98, 0x80]), 0, 4), null); // emoji
});

test('MQTT 5 CONNACK reason codes map to the nearest 3.1.1 return code', () => {
  assert.equal(connackReturnCodeFor(ReasonCode.Success), ConnackReturnCode.Accepted);
  assert.equal(
    connackReturnCodeFor(ReasonCode.UnsupportedProtocolVersion),
    ConnackReturnCode.UnacceptableProtocolVersion,
  );
  assert.equal(
    connackReturnCodeFor(ReasonCode.ClientIdentifierNotValid),
    ConnackReturnCode.IdentifierRejected,
  );
  assert.equal(
    connackReturnCodeFor(ReasonCode.BadUserNameOrPassword),
    ConnackReturnCode.BadUsernameOrPassword,
  );
  assert.equal(connackReturnCodeFor(ReasonCode.NotAuthorized), ConnackReturnCode.NotAuthorized);
  assert.equal(connackReturnCodeFor(ReasonCode.ServerBusy), ConnackReturnCode.ServerUnavailable);
});
