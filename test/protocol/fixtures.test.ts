// Byte-exact fixtures for every packet type at levels 3, 4 and 5, checked in both directions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { ascii, decodeOne, plain } from './helpers.js';

interface Fixture {
  name: string;
  versions: readonly ProtocolVersion[];
  packet: Packet;
  bytes: readonly number[];
}

const V34: readonly ProtocolVersion[] = [3, 4];
const ALL: readonly ProtocolVersion[] = [3, 4, 5];
const b = (s: string) => Buffer.from(s, 'latin1');

const fixtures: Fixture[] = [
  {
    name: 'CONNECT 3.1 (MQIsdp) with will, username, password',
    versions: [3],
    packet: {
      type: 1,
      protocolName: 'MQIsdp',
      protocolVersion: 3,
      cleanStart: true,
      keepAlive: 30,
      clientId: 'c1',
      will: { topic: 'w', payload: b('bye'), qos: 1, retain: true },
      username: 'u',
      password: b('pw'),
    },
    bytes: [
      0x10, // CONNECT, flags 0
      0x1f, // remaining length 31
      0x00,
      0x06,
      ...ascii('MQIsdp'), // protocol name
      0x03, // protocol level 3
      0xee, // flags: username, password, will retain, will QoS 1, will, clean session
      0x00,
      0x1e, // keep alive 30
      0x00,
      0x02,
      ...ascii('c1'), // client id
      0x00,
      0x01,
      ...ascii('w'), // will topic
      0x00,
      0x03,
      ...ascii('bye'), // will payload
      0x00,
      0x01,
      ...ascii('u'), // username
      0x00,
      0x02,
      ...ascii('pw'), // password
    ],
  },
  {
    name: 'CONNECT 3.1.1 minimal',
    versions: [4],
    packet: {
      type: 1,
      protocolName: 'MQTT',
      protocolVersion: 4,
      cleanStart: false,
      keepAlive: 60,
      clientId: 'abc',
    },
    bytes: [
      0x10, // CONNECT
      0x0f, // remaining length 15
      0x00,
      0x04,
      ...ascii('MQTT'), // protocol name
      0x04, // level 4
      0x00, // flags: none (persistent session)
      0x00,
      0x3c, // keep alive 60
      0x00,
      0x03,
      ...ascii('abc'), // client id
    ],
  },
  {
    name: 'CONNECT 5 with properties and will properties',
    versions: [5],
    packet: {
      type: 1,
      protocolName: 'MQTT',
      protocolVersion: 5,
      cleanStart: true,
      keepAlive: 10,
      clientId: '',
      properties: { sessionExpiryInterval: 120, receiveMaximum: 20 },
      will: { topic: 't', payload: b('x'), qos: 0, retain: false, properties: { willDelayInterval: 5 } },
      password: b('p'),
    },
    bytes: [
      0x10, // CONNECT
      0x24, // remaining length 36
      0x00,
      0x04,
      ...ascii('MQTT'), // protocol name
      0x05, // level 5
      0x46, // flags: password, will, clean start (no username: legal in 5)
      0x00,
      0x0a, // keep alive 10
      0x08, // property length 8
      0x11,
      0x00,
      0x00,
      0x00,
      0x78, // session expiry interval 120
      0x21,
      0x00,
      0x14, // receive maximum 20
      0x00,
      0x00, // client id ""
      0x05, // will property length 5
      0x18,
      0x00,
      0x00,
      0x00,
      0x05, // will delay interval 5
      0x00,
      0x01,
      ...ascii('t'), // will topic
      0x00,
      0x01,
      ...ascii('x'), // will payload
      0x00,
      0x01,
      ...ascii('p'), // password
    ],
  },
  {
    name: 'CONNACK 3.1/3.1.1',
    versions: V34,
    packet: { type: 2, sessionPresent: true, reasonCode: 0 },
    bytes: [
      0x20, // CONNACK
      0x02, // remaining length 2
      0x01, // session present
      0x00, // accepted
    ],
  },
  {
    name: 'CONNACK 5 with properties',
    versions: [5],
    packet: {
      type: 2,
      sessionPresent: false,
      reasonCode: 0x87,
      properties: { maximumQoS: 1, reasonString: 'no' },
    },
    bytes: [
      0x20, // CONNACK
      0x0a, // remaining length 10
      0x00, // no session
      0x87, // not authorized
      0x07, // property length 7
      0x24,
      0x01, // maximum QoS 1
      0x1f,
      0x00,
      0x02,
      ...ascii('no'), // reason string
    ],
  },
  {
    name: 'PUBLISH QoS 0 retained',
    versions: V34,
    packet: { type: 3, topic: 'a/b', payload: b('hi'), qos: 0, retain: true, dup: false, packetId: 0 },
    bytes: [
      0x31, // PUBLISH, retain
      0x07, // remaining length 7
      0x00,
      0x03,
      ...ascii('a/b'), // topic
      ...ascii('hi'), // payload
    ],
  },
  {
    name: 'PUBLISH QoS 2 dup',
    versions: V34,
    packet: { type: 3, topic: 't', payload: b(''), qos: 2, retain: false, dup: true, packetId: 0x1234 },
    bytes: [
      0x3c, // PUBLISH, dup, QoS 2
      0x05, // remaining length 5
      0x00,
      0x01,
      ...ascii('t'), // topic
      0x12,
      0x34, // packet id
    ],
  },
  {
    name: 'PUBLISH 5 QoS 1 with properties',
    versions: [5],
    packet: {
      type: 3,
      topic: 'a',
      payload: b('z'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
      properties: {
        payloadFormatIndicator: 1,
        subscriptionIdentifiers: [1, 200],
        userProperties: [['k', 'v']],
      },
    },
    bytes: [
      0x32, // PUBLISH QoS 1
      0x15, // remaining length 21
      0x00,
      0x01,
      ...ascii('a'), // topic
      0x00,
      0x01, // packet id 1
      0x0e, // property length 14
      0x01,
      0x01, // payload format indicator 1
      0x0b,
      0x01, // subscription identifier 1
      0x0b,
      0xc8,
      0x01, // subscription identifier 200
      0x26,
      0x00,
      0x01,
      ...ascii('k'),
      0x00,
      0x01,
      ...ascii('v'), // user property k=v
      ...ascii('z'), // payload
    ],
  },
  {
    name: 'PUBACK',
    versions: ALL,
    packet: { type: 4, packetId: 10, reasonCode: 0 },
    bytes: [0x40 /* PUBACK */, 0x02 /* length */, 0x00, 0x0a /* packet id 10 */],
  },
  {
    name: 'PUBREC 5 with reason code',
    versions: [5],
    packet: { type: 5, packetId: 10, reasonCode: 0x10 },
    bytes: [
      0x50 /* PUBREC */, 0x03 /* length */, 0x00, 0x0a /* packet id */, 0x10 /* no matching subscribers */,
    ],
  },
  {
    name: 'PUBREC',
    versions: V34,
    packet: { type: 5, packetId: 11, reasonCode: 0 },
    bytes: [0x50 /* PUBREC */, 0x02 /* length */, 0x00, 0x0b /* packet id 11 */],
  },
  {
    name: 'PUBREL',
    versions: ALL,
    packet: { type: 6, packetId: 12, reasonCode: 0 },
    bytes: [0x62 /* PUBREL, flags 0010 */, 0x02 /* length */, 0x00, 0x0c /* packet id 12 */],
  },
  {
    name: 'PUBCOMP 5 with reason and properties',
    versions: [5],
    packet: { type: 7, packetId: 13, reasonCode: 0x92, properties: { reasonString: 'x' } },
    bytes: [
      0x70, // PUBCOMP
      0x08, // remaining length 8
      0x00,
      0x0d, // packet id 13
      0x92, // packet identifier not found
      0x04, // property length 4
      0x1f,
      0x00,
      0x01,
      ...ascii('x'), // reason string
    ],
  },
  {
    name: 'PUBCOMP',
    versions: V34,
    packet: { type: 7, packetId: 13, reasonCode: 0 },
    bytes: [0x70 /* PUBCOMP */, 0x02 /* length */, 0x00, 0x0d /* packet id 13 */],
  },
  {
    name: 'SUBSCRIBE two filters',
    versions: V34,
    packet: {
      type: 8,
      packetId: 1,
      subscriptions: [
        { topicFilter: 'a/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topicFilter: '#', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    },
    bytes: [
      0x82, // SUBSCRIBE, flags 0010
      0x0c, // remaining length 12
      0x00,
      0x01, // packet id
      0x00,
      0x03,
      ...ascii('a/+'), // filter
      0x01, // QoS 1
      0x00,
      0x01,
      ...ascii('#'), // filter
      0x02, // QoS 2
    ],
  },
  {
    name: 'SUBSCRIBE 5 with options and subscription identifier',
    versions: [5],
    packet: {
      type: 8,
      packetId: 2,
      properties: { subscriptionIdentifiers: [5] },
      subscriptions: [
        { topicFilter: 'x', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
      ],
    },
    bytes: [
      0x82, // SUBSCRIBE
      0x09, // remaining length 9
      0x00,
      0x02, // packet id 2
      0x02, // property length 2
      0x0b,
      0x05, // subscription identifier 5
      0x00,
      0x01,
      ...ascii('x'), // filter
      0x2d, // retain handling 2, RAP, no local, QoS 1
    ],
  },
  {
    name: 'SUBACK',
    versions: V34,
    packet: { type: 9, packetId: 1, reasonCodes: [1, 0x80] },
    bytes: [
      0x90 /* SUBACK */, 0x04 /* length */, 0x00, 0x01 /* packet id */, 0x01 /* QoS 1 */, 0x80 /* failure */,
    ],
  },
  {
    name: 'SUBACK 5',
    versions: [5],
    packet: { type: 9, packetId: 1, reasonCodes: [0, 0xa2] },
    bytes: [
      0x90, // SUBACK
      0x05, // remaining length 5
      0x00,
      0x01, // packet id
      0x00, // property length 0
      0x00, // granted QoS 0
      0xa2, // wildcard subscriptions not supported
    ],
  },
  {
    name: 'UNSUBSCRIBE',
    versions: ALL,
    packet: { type: 10, packetId: 3, topicFilters: ['a', 'b/#'] },
    bytes: [], // filled per level below
  },
  {
    name: 'UNSUBACK',
    versions: V34,
    packet: { type: 11, packetId: 3, reasonCodes: [] },
    bytes: [0xb0 /* UNSUBACK */, 0x02 /* length */, 0x00, 0x03 /* packet id */],
  },
  {
    name: 'UNSUBACK 5',
    versions: [5],
    packet: { type: 11, packetId: 3, reasonCodes: [0, 0x11] },
    bytes: [
      0xb0, // UNSUBACK
      0x05, // remaining length 5
      0x00,
      0x03, // packet id
      0x00, // property length 0
      0x00, // success
      0x11, // no subscription existed
    ],
  },
  {
    name: 'PINGREQ',
    versions: ALL,
    packet: { type: 12 },
    bytes: [0xc0 /* PINGREQ */, 0x00 /* length 0 */],
  },
  {
    name: 'PINGRESP',
    versions: ALL,
    packet: { type: 13 },
    bytes: [0xd0 /* PINGRESP */, 0x00 /* length 0 */],
  },
  {
    name: 'DISCONNECT',
    versions: ALL,
    packet: { type: 14, reasonCode: 0 },
    bytes: [0xe0 /* DISCONNECT */, 0x00 /* length 0 */],
  },
  {
    name: 'DISCONNECT 5 with reason and session expiry',
    versions: [5],
    packet: { type: 14, reasonCode: 0x04, properties: { sessionExpiryInterval: 0 } },
    bytes: [
      0xe0, // DISCONNECT
      0x07, // remaining length 7
      0x04, // disconnect with will message
      0x05, // property length 5
      0x11,
      0x00,
      0x00,
      0x00,
      0x00, // session expiry interval 0
    ],
  },
  {
    name: 'AUTH 5',
    versions: [5],
    packet: { type: 15, reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM' } },
    bytes: [
      0xf0, // AUTH
      0x0a, // remaining length 10
      0x18, // continue authentication
      0x08, // property length 8
      0x15,
      0x00,
      0x05,
      ...ascii('SCRAM'), // authentication method
    ],
  },
];

// UNSUBSCRIBE differs only by the property length byte at level 5.
const unsub = fixtures.find((f) => f.name === 'UNSUBSCRIBE') as Fixture;
fixtures.splice(
  fixtures.indexOf(unsub),
  1,
  {
    ...unsub,
    versions: V34,
    bytes: [
      0xa2, // UNSUBSCRIBE, flags 0010
      0x0a, // remaining length 10
      0x00,
      0x03, // packet id
      0x00,
      0x01,
      ...ascii('a'), // filter
      0x00,
      0x03,
      ...ascii('b/#'), // filter
    ],
  },
  {
    ...unsub,
    name: 'UNSUBSCRIBE 5',
    versions: [5],
    bytes: [
      0xa2, // UNSUBSCRIBE
      0x0b, // remaining length 11
      0x00,
      0x03, // packet id
      0x00, // property length 0
      0x00,
      0x01,
      ...ascii('a'), // filter
      0x00,
      0x03,
      ...ascii('b/#'), // filter
    ],
  },
);

for (const f of fixtures) {
  for (const v of f.versions) {
    test(`fixture ${f.name} (level ${v}): encode`, () => {
      assert.deepEqual([...encodePacket(f.packet, v)], [...f.bytes]);
    });
    test(`fixture ${f.name} (level ${v}): decode`, () => {
      const { packets, errors } = decodeOne(f.bytes, v);
      assert.deepEqual(errors, []);
      assert.deepEqual(plain(packets), plain([f.packet]));
    });
  }
}

test('every packet type has a fixture at every level', () => {
  for (const v of [3, 4, 5] as const) {
    const types = new Set(fixtures.filter((f) => f.versions.includes(v)).map((f) => f.packet.type));
    const expected = v === 5 ? 15 : 14;
    assert.equal(types.size, expected, `level ${v}`);
  }
});
