// Malformed-input corpus: each case names the normative statement it checks and asserts the exact reason code.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketDecoder } from '../../src/protocol/decoder.js';
import { Rule } from '../../src/protocol/errors.js';
import type { ProtocolVersion } from '../../src/protocol/packets.js';
import { ascii, Collector, decodeOne } from './helpers.js';

function expectError(
  bytes: readonly number[],
  version: ProtocolVersion,
  reasonCode: number,
  rule?: string,
): void {
  const { packets, errors } = decodeOne(bytes, version);
  assert.equal(packets.length, 0, 'no packet may be emitted');
  assert.equal(errors.length, 1, 'exactly one error');
  const e = errors[0];
  assert.ok(e !== undefined);
  assert.equal(e.reasonCode, reasonCode, `reason code of: ${e.message}`);
  if (rule !== undefined) assert.equal(e.rule, rule);
}

const connect5 = (flags: number, rest: number[]) => [
  0x00,
  0x04,
  ...ascii('MQTT'),
  0x05,
  flags,
  0x00,
  0x3c,
  ...rest,
];

test('[MQTT-1.5.5-1] a fifth remaining-length byte is malformed (0x81)', () => {
  expectError([0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 4, 0x81, Rule.VarintTooLong);
});

test('truncated remaining length is held, not decoded', () => {
  const { packets, errors } = decodeOne([0x30, 0xff, 0xff], 4);
  assert.equal(packets.length + errors.length, 0);
});

test('[MQTT-2.1.3-1] reserved flag bits set on PUBACK are malformed', () => {
  expectError([0x41, 0x02, 0x00, 0x01], 4, 0x81, 'MQTT-2.1.3-1');
});

test('[MQTT-3.8.1-1] SUBSCRIBE flags other than 0010 are malformed', () => {
  expectError([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, ...ascii('a'), 0x00], 4, 0x81, 'MQTT-3.8.1-1');
});

test('[MQTT-3.10.1-1] UNSUBSCRIBE flags other than 0010 are malformed', () => {
  expectError([0xa0, 0x05, 0x00, 0x01, 0x00, 0x01, ...ascii('a')], 4, 0x81, 'MQTT-3.10.1-1');
});

test('[MQTT-3.6.1-1] PUBREL flags other than 0010 are malformed', () => {
  expectError([0x60, 0x02, 0x00, 0x01], 4, 0x81, 'MQTT-3.6.1-1');
});

test('reserved packet type 0 is malformed; AUTH before MQTT 5 is malformed', () => {
  expectError([0x00, 0x00], 4, 0x81, Rule.ReservedType);
  expectError([0xf0, 0x00], 4, 0x81, Rule.ReservedType);
});

test('[MQTT-3.3.1-4] PUBLISH with QoS 3 is malformed', () => {
  expectError([0x36, 0x05, 0x00, 0x01, ...ascii('t'), 0x00, 0x01], 4, 0x81, 'MQTT-3.3.1-4');
});

test('[MQTT-3.3.1-2] DUP on a QoS 0 PUBLISH is malformed', () => {
  expectError([0x38, 0x03, 0x00, 0x01, ...ascii('t')], 4, 0x81, 'MQTT-3.3.1-2');
});

test('[MQTT-2.2.1-3] packet identifier 0 is a protocol error', () => {
  expectError([0x32, 0x05, 0x00, 0x01, ...ascii('t'), 0x00, 0x00], 4, 0x82, 'MQTT-2.2.1-3');
  expectError([0x40, 0x02, 0x00, 0x00], 4, 0x82, 'MQTT-2.2.1-3');
  expectError([0x82, 0x06, 0x00, 0x00, 0x00, 0x01, ...ascii('a'), 0x00], 4, 0x82, 'MQTT-2.2.1-3');
});

test('[MQTT-3.3.2-2] a wildcard in a PUBLISH topic name is invalid (0x90)', () => {
  expectError([0x30, 0x03, 0x00, 0x01, ...ascii('#')], 4, 0x90, 'MQTT-3.3.2-2');
  expectError([0x30, 0x05, 0x00, 0x03, ...ascii('a/+')], 4, 0x90, 'MQTT-3.3.2-2');
});

test('[MQTT-4.7.3-1] an empty topic name without a topic alias is a protocol error', () => {
  expectError([0x30, 0x02, 0x00, 0x00], 4, 0x82, 'MQTT-4.7.3-1');
  expectError([0x30, 0x03, 0x00, 0x00, 0x00], 5, 0x82, 'MQTT-4.7.3-1');
  // With a topic alias it is legal at level 5.
  const ok = decodeOne([0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01], 5);
  assert.equal(ok.errors.length, 0);
});

test('[MQTT-1.5.4-1] ill-formed UTF-8 in a topic name is malformed', () => {
  expectError([0x30, 0x04, 0x00, 0x02, 0xc3, 0x28], 4, 0x81, 'MQTT-1.5.4-1');
  // An encoded UTF-16 surrogate (U+D800) is not well formed either.
  expectError([0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80], 4, 0x81, 'MQTT-1.5.4-1');
});

test('[MQTT-1.5.4-2] U+0000 in a string is malformed', () => {
  expectError([0x30, 0x05, 0x00, 0x03, 0x61, 0x00, 0x62], 4, 0x81, 'MQTT-1.5.4-2');
  expectError(
    [0x10, 0x0f, 0x00, 0x04, ...ascii('MQTT'), 0x04, 0x02, 0x00, 0x3c, 0x00, 0x03, 0x61, 0x00, 0x62],
    4,
    0x81,
    'MQTT-1.5.4-2',
  );
});

test('remaining length too short for the content is malformed', () => {
  // PUBLISH QoS 1 whose remaining length ends inside the packet identifier.
  expectError([0x32, 0x04, 0x00, 0x01, ...ascii('t'), 0x00], 4, 0x81, Rule.Truncated);
  // CONNECT that ends before the client identifier.
  expectError([0x10, 0x0a, 0x00, 0x04, ...ascii('MQTT'), 0x04, 0x02, 0x00, 0x3c], 4, 0x81, Rule.Truncated);
});

test('remaining length longer than the content is malformed', () => {
  expectError([0x40, 0x03, 0x00, 0x01, 0x00], 4, 0x81, Rule.TrailingBytes);
  expectError([0xc0, 0x01, 0x00], 4, 0x81, Rule.TrailingBytes);
  expectError(
    [0x10, 0x0f, 0x00, 0x04, ...ascii('MQTT'), 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, ...ascii('c'), 0x00, 0x00],
    4,
    0x81,
    Rule.TrailingBytes,
  );
});

test('[MQTT-3.1.2-3] CONNECT reserved flag set is malformed', () => {
  expectError(
    [0x10, 0x0d, 0x00, 0x04, ...ascii('MQTT'), 0x04, 0x03, 0x00, 0x3c, 0x00, 0x01, ...ascii('c')],
    4,
    0x81,
    'MQTT-3.1.2-3',
  );
});

test('[MQTT-3.1.2-11] [MQTT-3.1.2-13] will QoS / retain without the will flag are malformed', () => {
  expectError(
    [0x10, 0x0d, 0x00, 0x04, ...ascii('MQTT'), 0x04, 0x0a, 0x00, 0x3c, 0x00, 0x01, ...ascii('c')],
    4,
    0x81,
    'MQTT-3.1.2-11',
  );
  expectError(
    [0x10, 0x0d, 0x00, 0x04, ...ascii('MQTT'), 0x04, 0x22, 0x00, 0x3c, 0x00, 0x01, ...ascii('c')],
    4,
    0x81,
    'MQTT-3.1.2-13',
  );
});

test('[MQTT-3.1.2-12] will QoS 3 is malformed', () => {
  expectError(
    [0x10, 0x0d, 0x00, 0x04, ...ascii('MQTT'), 0x04, 0x1e, 0x00, 0x3c, 0x00, 0x01, ...ascii('c')],
    4,
    0x81,
    'MQTT-3.1.2-12',
  );
});

test('[MQTT-3.1.2-22] password without user name is a protocol error at 3.1.1', () => {
  expectError(
    [
      0x10,
      0x10,
      0x00,
      0x04,
      ...ascii('MQTT'),
      0x04,
      0x42,
      0x00,
      0x3c,
      0x00,
      0x01,
      ...ascii('c'),
      0x00,
      0x01,
      0x70,
    ],
    4,
    0x82,
    'MQTT-3.1.2-22',
  );
});

test('[MQTT-3.1.2-2] unsupported protocol level is reported distinguishably (0x84) and sets no packet', () => {
  expectError(
    [0x10, 0x0d, 0x00, 0x04, ...ascii('MQTT'), 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01, ...ascii('c')],
    4,
    0x84,
    Rule.UnsupportedProtocolVersion,
  );
  expectError(
    [0x10, 0x0f, 0x00, 0x06, ...ascii('MQIsdp'), 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, ...ascii('c')],
    4,
    0x84,
    Rule.UnsupportedProtocolVersion,
  );
});

test('[MQTT-3.1.2-1] unknown protocol name is reported with its own rule', () => {
  expectError(
    [0x10, 0x0d, 0x00, 0x04, ...ascii('MQTX'), 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, ...ascii('c')],
    4,
    0x84,
    Rule.BadProtocolName,
  );
});

test('bridge bit (0x80) on the protocol level is accepted as Mosquitto does', () => {
  const { packets, errors } = decodeOne(
    [0x10, 0x0d, 0x00, 0x04, ...ascii('MQTT'), 0x84, 0x02, 0x00, 0x3c, 0x00, 0x01, ...ascii('c')],
    4,
  );
  assert.equal(errors.length, 0);
  assert.equal(packets[0]?.type === 1 && packets[0].bridge, true);
});

test('CONNECT at level 5 with a bad property reports the error with the decoder at level 5', () => {
  const decoder = new PacketDecoder();
  const sink = new Collector();
  const body = connect5(0x02, [0x02, 0x21, 0x00, 0x00, 0x00, 0x01, ...ascii('c')]);
  decoder.push(Buffer.from([0x10, body.length, ...body]), sink);
  assert.equal(sink.errors[0]?.reasonCode, 0x81);
  assert.equal(decoder.protocolVersion, 5);
});

test('[MQTT-3.8.3-3] SUBSCRIBE with no topic filter is a protocol error', () => {
  expectError([0x82, 0x02, 0x00, 0x01], 4, 0x82, 'MQTT-3.8.3-3');
  expectError([0x82, 0x03, 0x00, 0x01, 0x00], 5, 0x82, 'MQTT-3.8.3-3');
});

test('[MQTT-3-8.3-4] SUBSCRIBE requested QoS 3 or reserved option bits are malformed', () => {
  expectError([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, ...ascii('a'), 0x03], 4, 0x81, 'MQTT-3-8.3-4');
  expectError([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, ...ascii('a'), 0x04], 4, 0x81, 'MQTT-3-8.3-4');
});

test('[MQTT-3.8.3-5] MQTT 5 SUBSCRIBE reserved option bits are malformed; retain handling 3 a protocol error', () => {
  expectError([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, ...ascii('a'), 0x40], 5, 0x81, 'MQTT-3.8.3-5');
  expectError([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, ...ascii('a'), 0x30], 5, 0x82);
});

test('[MQTT-3.8.3-4] No Local on a shared subscription is a protocol error', () => {
  const f = ascii('$share/g/a');
  expectError([0x82, 6 + f.length, 0x00, 0x01, 0x00, 0x00, f.length, ...f, 0x04], 5, 0x82, 'MQTT-3.8.3-4');
});

test('[MQTT-4.7.1-1] [MQTT-4.7.1-2] invalid topic filters are rejected with 0x8F', () => {
  expectError([0x82, 0x07, 0x00, 0x01, 0x00, 0x02, ...ascii('a#'), 0x00], 4, 0x8f, 'MQTT-4.7.1-1');
  expectError([0x82, 0x07, 0x00, 0x01, 0x00, 0x02, ...ascii('a+'), 0x00], 4, 0x8f, 'MQTT-4.7.1-2');
  expectError([0xa2, 0x06, 0x00, 0x01, 0x00, 0x02, ...ascii('#/')], 4, 0x8f, 'MQTT-4.7.1-1');
});

test('[MQTT-3.10.3-2] UNSUBSCRIBE with no topic filter is a protocol error', () => {
  expectError([0xa2, 0x02, 0x00, 0x01], 4, 0x82, 'MQTT-3.10.3-2');
});

test('[MQTT-2.2.2-duplicate] a property included twice is a protocol error', () => {
  // PUBLISH with two Payload Format Indicators.
  expectError(
    [0x30, 0x08, 0x00, 0x01, ...ascii('t'), 0x04, 0x01, 0x00, 0x01, 0x00],
    5,
    0x82,
    'MQTT-2.2.2-duplicate',
  );
  // SUBSCRIBE with two Subscription Identifiers.
  expectError(
    [0x82, 0x0a, 0x00, 0x01, 0x04, 0x0b, 0x01, 0x0b, 0x02, 0x00, 0x01, ...ascii('a'), 0x00],
    5,
    0x82,
    'MQTT-2.2.2-duplicate',
  );
});

test('[MQTT-2.2.2-not-allowed] a property in the wrong packet is malformed', () => {
  // PUBLISH carrying Session Expiry Interval.
  expectError(
    [0x30, 0x09, 0x00, 0x01, ...ascii('t'), 0x05, 0x11, 0x00, 0x00, 0x00, 0x01],
    5,
    0x81,
    'MQTT-2.2.2-not-allowed',
  );
  // CONNECT carrying Will Delay Interval outside the will properties.
  const body = connect5(0x02, [0x05, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, ...ascii('c')]);
  expectError([0x10, body.length, ...body], 4, 0x81, 'MQTT-2.2.2-not-allowed');
});

test('[MQTT-2.2.2-unknown] an unknown property identifier is malformed', () => {
  expectError([0x30, 0x06, 0x00, 0x01, ...ascii('t'), 0x02, 0x7f, 0x00], 5, 0x81, 'MQTT-2.2.2-unknown');
});

test('[MQTT-3.3.4-6] subscription identifier 0 is a protocol error', () => {
  expectError([0x30, 0x06, 0x00, 0x01, ...ascii('t'), 0x02, 0x0b, 0x00], 5, 0x82, 'MQTT-3.3.4-6');
});

test('[MQTT-3.3.2-8] topic alias 0 is Topic Alias invalid (0x94)', () => {
  expectError([0x30, 0x07, 0x00, 0x01, ...ascii('t'), 0x03, 0x23, 0x00, 0x00], 5, 0x94, 'MQTT-3.3.2-8');
});

test('restricted property values are protocol errors', () => {
  // payloadFormatIndicator 2
  expectError([0x30, 0x06, 0x00, 0x01, ...ascii('t'), 0x02, 0x01, 0x02], 5, 0x82);
  const cases: number[][] = [
    [0x03, 0x21, 0x00, 0x00], // receiveMaximum 0
    [0x05, 0x27, 0x00, 0x00, 0x00, 0x00], // maximumPacketSize 0
    [0x02, 0x17, 0x02], // requestProblemInformation 2
    [0x02, 0x19, 0x02], // requestResponseInformation 2
  ];
  for (const props of cases) {
    const body = connect5(0x02, [...props, 0x00, 0x01, ...ascii('c')]);
    expectError([0x10, body.length, ...body], 4, 0x82);
  }
  // maximumQoS 2 in CONNACK
  expectError([0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02], 5, 0x82);
});

test('property length beyond the packet is malformed', () => {
  expectError([0x30, 0x06, 0x00, 0x01, ...ascii('t'), 0x09, 0x01, 0x01], 5, 0x81);
});

test('maximum packet size: 0x95 raised from the fixed header, before the body arrives', () => {
  const decoder = new PacketDecoder({ maxPacketSize: 100 });
  const sink = new Collector();
  // Header announcing a 1000-byte body; no body bytes are sent.
  decoder.push(Buffer.from([0x30, 0xe8, 0x07]), sink);
  assert.equal(sink.errors.length, 1);
  assert.equal(sink.errors[0]?.reasonCode, 0x95);
  assert.equal(decoder.bufferedBytes, 0);
  // Everything after the first error is ignored.
  decoder.push(Buffer.from([0xc0, 0x00]), sink);
  assert.equal(sink.packets.length, 0);
  assert.equal(sink.errors.length, 1);
});

test('maximum packet size counts the whole packet (header included)', () => {
  const ok = new PacketDecoder({ maxPacketSize: 4 });
  const sink = new Collector();
  ok.push(Buffer.from([0x40, 0x02, 0x00, 0x01]), sink);
  assert.equal(sink.packets.length, 1);
  ok.maxPacketSize = 3;
  ok.push(Buffer.from([0x40, 0x02]), sink);
  assert.equal(sink.errors[0]?.reasonCode, 0x95);
});

test('bufferedBytes reports the held partial packet', () => {
  const decoder = new PacketDecoder();
  const sink = new Collector();
  decoder.push(Buffer.from([0x30, 0x0a, 0x00, 0x01]), sink);
  assert.equal(decoder.bufferedBytes, 4);
});

test('invalid PUBACK / PUBREL / AUTH reason codes are protocol errors at level 5', () => {
  expectError([0x40, 0x03, 0x00, 0x01, 0x05], 5, 0x82);
  expectError([0x62, 0x03, 0x00, 0x01, 0x10], 5, 0x82);
  expectError([0xf0, 0x02, 0x01, 0x00], 5, 0x82);
});

test('[MQTT-3.2.2-1] CONNACK reserved acknowledge flags are malformed', () => {
  expectError([0x20, 0x02, 0x02, 0x00], 4, 0x81, 'MQTT-3.2.2-1');
});
