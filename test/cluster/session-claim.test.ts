// The CONNECT seam of cluster mode (core.sessionClaim): awaited before the session is attached, with the
// packets sent meanwhile held and handled in order afterwards; a failed claim refuses the client
// (0x88 Server unavailable / 3 in 3.1.1) and touches no session.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { Packet } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { connectPacket, RawClient, subscribePacket } from '../helpers/raw-client.js';

test('the claim is awaited before CONNACK; packets sent behind CONNECT wait for it, in order', async () => {
  await withBroker({}, async ({ broker, port }) => {
    const calls: Array<[string, boolean]> = [];
    let attachedDuringClaim = true;
    broker.internals.sessionClaim = async (clientId, cleanStart) => {
      calls.push([clientId, cleanStart]);
      await new Promise((r) => setTimeout(r, 150));
      attachedDuringClaim = broker.internals.sessions.has(clientId);
    };
    const c = await RawClient.open(port);
    const sent = Date.now();
    c.send(
      Buffer.concat([
        encode(connectPacket({ clientId: 'cl', clean: false })),
        encode(subscribePacket(1, [['t', 1]])),
      ]),
    );
    const connack = await c.next();
    assert.equal(connack.type, 2);
    assert.ok(Date.now() - sent >= 140, 'CONNACK before the claim ended');
    assert.equal((await c.next()).type, 9, 'SUBACK after the CONNACK');
    assert.deepEqual(calls, [['cl', false]]);
    assert.equal(attachedDuringClaim, false, 'session attached before the claim ended');
    assert.equal(broker.internals.sessions.get('cl')?.subscriptionCount, 1);
    c.disconnect();
  });
});

test('a failed claim refuses the client with Server unavailable and attaches nothing', async () => {
  await withBroker({}, async ({ broker, port }) => {
    broker.internals.sessionClaim = () => Promise.reject(new Error('Redis down'));
    const v5 = await RawClient.connect(port, { clientId: 'a', version: 5 });
    assert.equal(v5.connack.reasonCode, 0x88);
    const v4 = await RawClient.connect(port, { clientId: 'b', clean: false });
    assert.equal(v4.connack.reasonCode, 3);
    await v4.client.closed;
    assert.equal(broker.internals.sessions.size, 0);
  });
});

function encode(p: Packet): Buffer {
  return encodePacket(p, 4);
}
