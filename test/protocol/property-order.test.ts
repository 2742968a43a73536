// Forwarded MQTT 5 properties keep the publisher's order, User Properties interleaved with others included, as
// Mosquitto forwards them (checked against the real broker in test/interop/differential-exact.test.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PublishFrame } from '../../src/protocol/publish-frame.js';
import { decodeFrame } from '../helpers/raw-client.js';

// PUBLISH QoS 1 'fp/x' id 1; properties: user (a,b), content type 'ct', response topic 'r', user (c,d),
// payload format 1, correlation data 'k', user (e,f); payload 'x'.
const WIRE = Buffer.from(
  '322e000466702f780001242600016100016203000263740800017226000163000164010109' +
    '00016b260001650001667' +
    '8',
  'hex',
);

test('a PUBLISH with interleaved User Properties is forwarded with its properties in wire order', () => {
  const p = decodeFrame(WIRE, 5);
  assert.ok(p.type === 3);
  const frame = new PublishFrame(p.topic, p.payload, p.properties);
  const out: Buffer[] = [];
  frame.writeTo({ write: (c: Buffer) => out.push(c) }, 5, 1, false, false, 1);
  assert.equal(Buffer.concat(out).toString('hex'), WIRE.toString('hex'));
});

test('the wire order survives dropping the topic alias, and properties added later go last', () => {
  const p = decodeFrame(WIRE, 5);
  assert.ok(p.type === 3 && p.properties !== undefined);
  assert.deepEqual(p.properties.userProperties, [
    ['a', 'b'],
    ['c', 'd'],
    ['e', 'f'],
  ]);
  const frame = new PublishFrame(p.topic, p.payload, p.properties);
  const out: Buffer[] = [];
  frame.writeTo({ write: (c: Buffer) => out.push(c) }, 5, 1, false, false, 1, {
    subscriptionIdentifiers: [7],
  });
  // Subscription identifier first (as Mosquitto), then the publisher's properties in their order.
  const hex = Buffer.concat(out).toString('hex');
  assert.ok(hex.includes('0b07260001610001620300026374'), hex);
});
