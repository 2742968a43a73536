// MQTT 5 reason codes in acknowledgements and server DISCONNECTs: 0x10, 0x11, 0x87, 0x92, 0x97, 0x8B,
// and the codes that must never appear unasked (0x9C Use another server).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrokerHooks } from '../../src/broker/hooks.js';
import { startBroker, withBroker } from '../helpers/broker.js';
import { connect5, nextAck, publish5, subscribe5 } from './helpers.js';

const denyPrivate: BrokerHooks = {
  authorize: (_client, _access, topic) => !topic.startsWith('private/'),
};

test('[MQTT-3.4.2-1] PUBACK 0x10 when nobody is subscribed, 0x00 when someone is', async () => {
  await withBroker({}, async ({ port }) => {
    const pub = await connect5(port, { clientId: 'rc-pub' });
    pub.client.send(publish5('nobody/here', 'x', 1, 1));
    assert.equal((await nextAck(pub.client, 4)).reasonCode, 0x10);
    const sub = await connect5(port, { clientId: 'rc-sub' });
    await subscribe5(sub.client, 1, 'somebody/here');
    pub.client.send(publish5('somebody/here', 'x', 1, 2));
    assert.equal((await nextAck(pub.client, 4)).reasonCode, 0);
    pub.client.destroy();
    sub.client.destroy();
  });
});

test('[MQTT-3.5.2-1] PUBREC 0x00 with no subscribers (as Mosquitto, which routes QoS 2 on PUBREL); PUBREC 0x87 when not authorized, and no PUBREL is expected', async () => {
  await withBroker({ hooks: denyPrivate }, async ({ port }) => {
    const pub = await connect5(port, { clientId: 'rc2' });
    pub.client.send(publish5('nobody', 'x', 2, 1));
    assert.equal((await nextAck(pub.client, 5)).reasonCode, 0);
    pub.client.send(publish5('private/x', 'x', 2, 2));
    assert.equal((await nextAck(pub.client, 5)).reasonCode, 0x87);
    // [MQTT-4.3.3-9] after a failed PUBREC the same identifier is a new publication.
    pub.client.send(publish5('private/x', 'again', 2, 2));
    assert.equal((await nextAck(pub.client, 5)).reasonCode, 0x87);
    // [MQTT-3.7.2-1] PUBREL for an unknown identifier gets PUBCOMP 0x92.
    pub.client.send({ type: 6, packetId: 2, reasonCode: 0 });
    assert.equal((await nextAck(pub.client, 7)).reasonCode, 0x92);
    pub.client.send({ type: 6, packetId: 1, reasonCode: 0 });
    assert.equal((await nextAck(pub.client, 7)).reasonCode, 0);
    pub.client.destroy();
  });
});

test('[MQTT-3.4.2-1] PUBACK 0x87 for a publish the ACL refuses', async () => {
  await withBroker({ hooks: denyPrivate }, async ({ port }) => {
    const pub = await connect5(port, { clientId: 'rc3' });
    pub.client.send(publish5('private/secret', 'x', 1, 1));
    assert.equal((await nextAck(pub.client, 4)).reasonCode, 0x87);
    pub.client.destroy();
  });
});

test('[MQTT-3.9.3-2] SUBACK 0x87 for a refused filter, 0x97 over the subscription quota, granted QoS otherwise', async () => {
  await withBroker({ hooks: denyPrivate, options: { maxSubscriptionsPerClient: 2 } }, async ({ port }) => {
    const c = await connect5(port, { clientId: 'rc4' });
    c.client.send({
      type: 8,
      packetId: 3,
      subscriptions: ['ok/1', 'private/x', 'ok/2', 'ok/3'].map((topicFilter) => ({
        topicFilter,
        qos: 1 as const,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0 as const,
      })),
    });
    const ack = await c.client.nextOfType(9);
    assert.equal(ack.packetId, 3);
    // [MQTT-3.9.3-1] one code per filter, in order.
    assert.deepEqual(ack.reasonCodes, [1, 0x87, 1, 0x97]);
    c.client.destroy();
  });
});

test('[MQTT-3.11.3-1] [MQTT-3.11.3-2] UNSUBACK 0x00 / 0x11 per filter, in order', async () => {
  await withBroker({}, async ({ port }) => {
    const c = await connect5(port, { clientId: 'rc5' });
    await subscribe5(c.client, 1, 'u/a');
    c.client.send({ type: 10, packetId: 9, topicFilters: ['u/missing', 'u/a'] });
    const ack = await c.client.nextOfType(11);
    assert.equal(ack.packetId, 9);
    assert.deepEqual(ack.reasonCodes, [0x11, 0]);
    c.client.destroy();
  });
});

test('[MQTT-3.14.2-1] [MQTT-3.14.2-2] server shutdown sends DISCONNECT 0x8B (no Session Expiry) to MQTT 5 clients, never 0x9C', async () => {
  const b = await startBroker();
  const c = await connect5(b.port, { clientId: 'rc6' });
  const stopping = b.stop();
  const d = await c.client.nextOfType(14);
  assert.equal(d.reasonCode, 0x8b);
  assert.equal(d.properties?.sessionExpiryInterval, undefined);
  await stopping;
});
