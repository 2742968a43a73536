// MQTT 5.0 conformance: Reason Strings / User Properties on server acknowledgements (Request Problem Information,
// client Maximum Packet Size) and AUTH reason codes, checked on every packet the broker sends.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EnhancedAuthResult } from '../../src/broker/hooks.js';
import type { Packet } from '../../src/protocol/packets.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { decodeFrame, RawClient } from '../helpers/raw-client.js';
import { connect5, publish5, subscribe5, v5ConnectPacket } from '../mqtt5/helpers.js';
import { packet, str, u16 } from './bytes.js';

const LIMIT = 64;

let b: TestBroker;
before(async () => {
  b = await startBroker({
    hooks: {
      authorize: (_c, access, topic) => !(access === 'subscribe' && topic.startsWith('secret/')),
      enhancedAuth(_client, method, data, step): EnhancedAuthResult {
        if (method !== 'TOY') return { result: 'fail', reasonCode: 0x8c };
        if (step !== 'continue') return { result: 'continue', data: Buffer.from('challenge') };
        return data?.toString() === 'ok' ? { result: 'success' } : { result: 'fail' };
      },
    },
  });
});
after(() => b.stop());

/** Runs acks of every kind and a protocol error against a client, returning raw frames and decoded packets. */
async function everyAck(requestProblemInformation: 0 | 1): Promise<Array<{ raw: Buffer; p: Packet }>> {
  const props = { maximumPacketSize: LIMIT, requestProblemInformation };
  const sub = await connect5(b.port, { clientId: `pi-s${requestProblemInformation}`, properties: props });
  const c = await connect5(b.port, { clientId: `pi-c${requestProblemInformation}`, properties: props });
  const t = `pi${requestProblemInformation}/t`;
  await subscribe5(sub.client, 1, t, { qos: 2 });
  const frames: Buffer[] = [];
  const grab = async (client: RawClient, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const raw = await client.nextRaw();
      assert.ok(raw !== null);
      frames.push(raw);
    }
  };
  c.client.send(publish5('nobody/here', 'x', 1, 1)); // PUBACK 0x10
  c.client.send(publish5(t, 'y', 2, 2)); // PUBREC
  await grab(c.client, 2);
  c.client.send(packet(0x62, u16(2))); // PUBCOMP
  c.client.send(packet(0x62, u16(77))); // PUBCOMP 0x92
  await grab(c.client, 2);
  const msg = await sub.client.nextOfType(3);
  sub.client.send({ type: 5, packetId: msg.packetId, reasonCode: 0 }); // server PUBREL
  await grab(sub.client, 1);
  c.client.send(packet(0x82, u16(3), [0], str('secret/x'), [1], str('ok/x'), [1])); // SUBACK 0x87, 1
  c.client.send(packet(0xa2, u16(4), [0], str('never/subscribed'))); // UNSUBACK 0x11
  await grab(c.client, 2);
  c.client.send(packet(0x30, str('x'), [3, 0x23, 0, 0], Buffer.from('x'))); // Topic Alias 0: DISCONNECT 0x94/0x82
  await grab(c.client, 1);
  sub.client.destroy();
  c.client.destroy();
  return frames.map((raw) => ({ raw, p: decodeFrame(raw, 5) }));
}

function problemProps(p: Packet): unknown[] {
  const props = 'properties' in p ? p.properties : undefined;
  return [props?.reasonString, props?.userProperties].filter((x) => x !== undefined);
}

test('[MQTT-3.4.2-2] [MQTT-3.4.2-3] [MQTT-3.5.2-2] [MQTT-3.5.2-3] [MQTT-3.6.2-2] [MQTT-3.6.2-3] [MQTT-3.7.2-2] [MQTT-3.7.2-3] [MQTT-3.9.2-1] [MQTT-3.9.2-2] [MQTT-3.11.2-1] [MQTT-3.11.2-2] [MQTT-3.14.2-3] [MQTT-3.14.2-4] 5.0: acks and DISCONNECT stay within the client Maximum Packet Size', async () => {
  const got = await everyAck(1);
  assert.deepEqual(
    got.map(({ p }) => p.type),
    [4, 5, 7, 7, 6, 9, 11, 14],
  );
  for (const { raw, p } of got) {
    assert.ok(raw.length <= LIMIT, `packet type ${p.type} of ${raw.length} bytes exceeds ${LIMIT}`);
  }
  // The failure codes really were sent, so a Reason String would have had a place to go.
  assert.deepEqual(
    got.map(({ p }) => ('reasonCode' in p ? p.reasonCode : 'reasonCodes' in p ? p.reasonCodes : null)),
    [0x10, 0, 0, 0x92, 0, [0x87, 1], [0x11], got[7]?.p.type === 14 ? got[7].p.reasonCode : -1],
  );
});

test('[MQTT-3.1.2-29] 5.0: with Request Problem Information 0 no Reason String or User Property is sent on acks', async () => {
  const got = await everyAck(0);
  for (const { p } of got) {
    if (p.type === 3 || p.type === 14) continue; // allowed there
    assert.deepEqual(problemProps(p), [], `packet type ${p.type} carries problem information`);
  }
  assert.equal(got.length, 8);
});

test('[MQTT-3.15.2-1] [MQTT-3.15.2-2] [MQTT-3.15.2-3] 5.0: server AUTH packets use AUTH reason codes (0x18) and stay within the client limit', async () => {
  const c = await RawClient.open(b.port);
  c.version = 5;
  c.send(
    v5ConnectPacket({
      clientId: 'pi-auth',
      properties: { authenticationMethod: 'TOY', maximumPacketSize: LIMIT },
    }),
  );
  const raw = await c.nextRaw();
  assert.ok(raw !== null);
  const auth = decodeFrame(raw, 5);
  assert.equal(auth.type, 15);
  assert.ok(auth.type === 15 && auth.reasonCode === 0x18);
  assert.ok(raw.length <= LIMIT);
  c.send({
    type: 15,
    reasonCode: 0x18,
    properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('ok') },
  });
  const ack = await c.next();
  assert.equal(ack.type === 2 && ack.reasonCode, 0);
  // Re-authentication: the server answers AUTH 0x18 again, then success 0x00.
  c.send({ type: 15, reasonCode: 0x19, properties: { authenticationMethod: 'TOY' } });
  const again = await c.next();
  assert.ok(again.type === 15 && again.reasonCode === 0x18);
  c.send({
    type: 15,
    reasonCode: 0x18,
    properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('ok') },
  });
  const done = await c.next();
  assert.ok(done.type === 15 && done.reasonCode === 0x00);
  c.destroy();
});

test('[MQTT-3.2.2-19] [MQTT-3.2.2-20] 5.0: accepted and refused CONNACKs stay within the client Maximum Packet Size', async () => {
  for (const properties of [
    { maximumPacketSize: LIMIT, requestProblemInformation: 1 },
    { maximumPacketSize: LIMIT, requestProblemInformation: 1, authenticationMethod: 'NOPE' },
  ]) {
    const c = await RawClient.open(b.port);
    c.version = 5;
    c.send(v5ConnectPacket({ clientId: 'pi-connack', properties }));
    const raw = await c.nextRaw();
    assert.ok(raw !== null && raw[0] === 0x20);
    assert.ok(raw.length <= LIMIT, `CONNACK of ${raw.length} bytes`);
    const ack = decodeFrame(raw, 5);
    assert.equal(ack.type === 2 && ack.reasonCode, properties.authenticationMethod ? 0x8c : 0);
    c.destroy();
  }
});
