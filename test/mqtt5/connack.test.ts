// MQTT 5 CONNACK: properties that reflect the configuration, in Mosquitto's order, checked against the real
// mosquitto 2.0 with the same CONNECT bytes; Assigned Client Identifier, Server Keep Alive, Response Information.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { ConnackPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { startCulexProcess, startMosquitto } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { requireTool } from '../helpers/tools.js';
import { connect5, v5ConnectPacket } from './helpers.js';

/** The ids of the CONNACK properties in wire order (the Assigned Client Identifier value differs per run). */
function propertyOrder(raw: Buffer): number[] {
  // Fixed header (2 bytes for a short CONNACK), flags, reason code, then the property block.
  let off = 2 + 2;
  let len = 0;
  let mult = 1;
  for (;;) {
    const b = raw[off++]!;
    len += (b & 0x7f) * mult;
    if (b < 0x80) break;
    mult *= 128;
  }
  const end = off + len;
  const ids: number[] = [];
  const sizes: Record<number, number> = { 34: 2, 19: 2, 33: 2, 37: 1, 36: 1, 39: 4, 40: 1, 41: 1, 42: 1 };
  while (off < end) {
    const id = raw[off++]!;
    ids.push(id);
    const fixed = sizes[id];
    if (fixed !== undefined) off += fixed;
    else off += 2 + raw.readUInt16BE(off); // strings (assigned id, response information, reason string)
  }
  return ids;
}

async function rawConnack(
  port: number,
  clientId: string,
  keepAlive: number,
  extra: Record<string, number> = {},
): Promise<Buffer> {
  const c = await RawClient.open(port);
  c.version = 5;
  c.send(encodePacket(v5ConnectPacket({ clientId, keepAlive, properties: extra }), 5));
  const raw = await c.nextRaw();
  c.destroy();
  if (raw === null) throw new Error('closed without CONNACK');
  return raw;
}

const configs: readonly (readonly string[])[] = [
  ['allow_anonymous true'],
  ['allow_anonymous true', 'max_qos 1', 'retain_available false', 'max_packet_size 1000', 'max_keepalive 30'],
  [
    'allow_anonymous true',
    'max_inflight_messages 10',
    'max_topic_alias 0',
    'max_packet_size 2000',
    'max_qos 0',
  ],
];

for (const [i, lines] of configs.entries()) {
  test(`[MQTT-3.2.2-9] [MQTT-3.2.2-16] CONNACK properties equal mosquitto's, byte for byte (config ${i + 1})`, {
    skip: requireTool('mosquitto'),
    timeout: 30_000,
  }, async () => {
    const mosquitto = await startMosquitto(lines);
    const culex = await startCulexProcess(lines).catch(async (err: unknown) => {
      await mosquitto.stop();
      throw err;
    });
    try {
      for (const [id, keepAlive] of [
        ['fixed-id', 60],
        ['', 0],
        ['', 45],
      ] as const) {
        const m = await rawConnack(mosquitto.port, id, keepAlive);
        const c = await rawConnack(culex.port, id, keepAlive);
        assert.deepEqual(propertyOrder(c), propertyOrder(m), `property order for id '${id}' k${keepAlive}`);
        if (id !== '') assert.equal(c.toString('hex'), m.toString('hex'));
        else assert.equal(c.length, m.length);
      }
    } finally {
      await Promise.all([mosquitto.stop(), culex.stop()]);
    }
  });
}

test('[MQTT-3.1.3-7] [MQTT-3.2.2-16] an empty client id gets a fresh Assigned Client Identifier', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const a = await connect5(port);
    const b = await connect5(port);
    const idA = a.connack.properties?.assignedClientIdentifier;
    const idB = b.connack.properties?.assignedClientIdentifier;
    assert.ok(idA !== undefined && idB !== undefined);
    assert.notEqual(idA, idB);
    assert.ok(broker.sessions.has(idA) && broker.sessions.has(idB));
    a.client.destroy();
    b.client.destroy();
  });
});

test('[MQTT-3.2.2-21] Server Keep Alive is sent when max_keepalive lowers the client value, and enforced', async () => {
  await withBroker({ options: { maxKeepalive: 1 } }, async ({ port }) => {
    const { client, connack } = await connect5(port, { clientId: 'ka', keepAlive: 100 });
    assert.equal(connack.properties?.serverKeepAlive, 1);
    // [MQTT-3.1.2-22] one and a half times the (server) keepalive without a packet closes with 0x8D.
    const p = await client.next(4000);
    assert.equal(p.type, 14);
    assert.equal(p.type === 14 && p.reasonCode, 0x8d);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-3.2.2-22] without max_keepalive pressure the client keepalive is kept and no Server Keep Alive sent', async () => {
  await withBroker({}, async ({ port }) => {
    const { client, connack } = await connect5(port, { clientId: 'ka2', keepAlive: 60 });
    assert.equal(connack.properties?.serverKeepAlive, undefined);
    client.destroy();
  });
});

test('[MQTT-3.1.2-28] Response Information only when requested and configured', async () => {
  await withBroker({ options: { responseInformationPrefix: 'replies/' } }, async ({ port }) => {
    const asked = await connect5(port, { clientId: 'rr1', properties: { requestResponseInformation: 1 } });
    assert.equal(asked.connack.properties?.responseInformation, 'replies/rr1');
    const notAsked = await connect5(port, { clientId: 'rr2', properties: { requestResponseInformation: 0 } });
    assert.equal(notAsked.connack.properties?.responseInformation, undefined);
    asked.client.destroy();
    notAsked.client.destroy();
  });
  await withBroker({}, async ({ port }) => {
    const unconfigured = await connect5(port, {
      clientId: 'rr3',
      properties: { requestResponseInformation: 1 },
    });
    assert.equal(unconfigured.connack.properties?.responseInformation, undefined);
    unconfigured.client.destroy();
  });
});

test('[MQTT-3.2.2-9] Maximum QoS, Retain Available, Receive Maximum and Maximum Packet Size follow the options', async () => {
  const options = { maxQos: 1 as const, retainAvailable: false, maxInflightMessages: 7, maxPacketSize: 4096 };
  await withBroker({ options }, async ({ port }) => {
    const { client, connack } = await connect5(port, { clientId: 'caps' });
    const p = (connack as ConnackPacket).properties;
    assert.equal(p?.maximumQoS, 1);
    assert.equal(p?.retainAvailable, 0);
    assert.equal(p?.receiveMaximum, 7);
    assert.equal(p?.maximumPacketSize, 4096);
    assert.equal(p?.topicAliasMaximum, 10);
    // Supported features are left out: absent means available.
    assert.equal(p?.wildcardSubscriptionAvailable, undefined);
    assert.equal(p?.subscriptionIdentifierAvailable, undefined);
    assert.equal(p?.sharedSubscriptionAvailable, undefined);
    client.destroy();
  });
});

test('[MQTT-3.2.2-12] a Will QoS above Maximum QoS is refused with CONNACK 0x9B', async () => {
  await withBroker({ options: { maxQos: 1 } }, async ({ port }) => {
    const will = { topic: 'w', payload: Buffer.from('x'), qos: 2 as const, retain: false };
    const { client, connack } = await connect5(port, { clientId: 'wq', will });
    assert.equal(connack.reasonCode, 0x9b);
    assert.equal(connack.sessionPresent, false);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-3.2.2-13] a retained Will when retain is unavailable is refused with CONNACK 0x9A', async () => {
  await withBroker({ options: { retainAvailable: false } }, async ({ port }) => {
    const will = { topic: 'w', payload: Buffer.from('x'), qos: 0 as const, retain: true };
    const { client, connack } = await connect5(port, { clientId: 'wr', will });
    assert.equal(connack.reasonCode, 0x9a);
    assert.ok(await client.waitClosed());
  });
});
