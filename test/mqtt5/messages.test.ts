// MQTT 5 application message properties end to end: expiry (queued, retained), request / response,
// user properties, payload format, content type, subscription identifiers, and 3.1.1 <-> 5.0 exchange.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Properties } from '../../src/protocol/properties.js';
import { withBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/net.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { connect5, nextAck, nextPublish, publish5, subscribe5 } from './helpers.js';

test('[MQTT-3.3.2-6] a queued message carries its remaining expiry; [MQTT-3.3.2-5] an expired one is not delivered', async () => {
  await withBroker({}, async ({ port }) => {
    const sub = await connect5(port, { clientId: 'exp-sub', properties: { sessionExpiryInterval: 300 } });
    await subscribe5(sub.client, 1, 'exp/#', { qos: 1 });
    sub.client.disconnect();
    await sleep(50);
    const pub = await connect5(port, { clientId: 'exp-pub' });
    pub.client.send(publish5('exp/long', 'L', 1, 1, { messageExpiryInterval: 100 }));
    pub.client.send(publish5('exp/short', 'S', 1, 2, { messageExpiryInterval: 1 }));
    pub.client.send(publish5('exp/none', 'N', 1, 3));
    await nextAck(pub.client, 4);
    await nextAck(pub.client, 4);
    await nextAck(pub.client, 4);
    await sleep(2100);
    const back = await connect5(port, {
      clientId: 'exp-sub',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    assert.equal(back.connack.sessionPresent, true);
    const got = await back.client.collect(400);
    const pubs = got.filter((p) => p.type === 3);
    assert.deepEqual(
      pubs.map((p) => p.type === 3 && p.topic),
      ['exp/long', 'exp/none'],
    );
    const long = pubs[0]!;
    const left = long.type === 3 ? long.properties?.messageExpiryInterval : undefined;
    assert.ok(left !== undefined && left <= 98 && left >= 90, `remaining expiry ${left}`);
    const none = pubs[1]!;
    assert.equal(none.type === 3 && none.properties?.messageExpiryInterval, undefined);
    back.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-3.3.2-6] a retained message is sent with its remaining expiry and disappears when expired', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const pub = await connect5(port, { clientId: 'rexp-pub' });
    pub.client.send(publish5('rexp/a', 'A', 1, 1, { messageExpiryInterval: 60 }, true));
    pub.client.send(publish5('rexp/b', 'B', 1, 2, { messageExpiryInterval: 1 }, true));
    await nextAck(pub.client, 4);
    await nextAck(pub.client, 4);
    await sleep(1100);
    const sub = await connect5(port, { clientId: 'rexp-sub' });
    await subscribe5(sub.client, 1, 'rexp/#', { qos: 1 });
    const got = await nextPublish(sub.client);
    assert.equal(got.topic, 'rexp/a');
    assert.equal(got.retain, true);
    const left = got.properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left <= 60 && left >= 54, `remaining ${left}`);
    assert.equal((await sub.client.collect(200)).filter((p) => p.type === 3).length, 0);
    assert.equal(broker.retained.get('rexp/b'), undefined);
    sub.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-3.3.2-15] [MQTT-3.3.2-16] Response Topic and Correlation Data reach the responder unaltered (request / response)', async () => {
  await withBroker({ options: { responseInformationPrefix: 'resp/' } }, async ({ port }) => {
    const responder = await connect5(port, { clientId: 'responder' });
    await subscribe5(responder.client, 1, 'svc/req');
    const requester = await connect5(port, {
      clientId: 'requester',
      properties: { requestResponseInformation: 1 },
    });
    const base = requester.connack.properties?.responseInformation;
    assert.equal(base, 'resp/requester');
    const replyTopic = `${base}/reply`;
    await subscribe5(requester.client, 1, replyTopic);
    const corr = Buffer.from([0, 1, 2, 250, 255]);
    requester.client.send(
      publish5('svc/req', 'ping', 0, 0, { responseTopic: replyTopic, correlationData: corr }),
    );
    const req = await nextPublish(responder.client);
    assert.equal(req.properties?.responseTopic, replyTopic);
    assert.deepEqual(req.properties?.correlationData, corr);
    responder.client.send(
      publish5(req.properties!.responseTopic!, 'pong', 0, 0, {
        correlationData: req.properties!.correlationData!,
      }),
    );
    const resp = await nextPublish(requester.client);
    assert.equal(resp.payload.toString(), 'pong');
    assert.deepEqual(resp.properties?.correlationData, corr);
    responder.client.destroy();
    requester.client.destroy();
  });
});

test('[MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-4] [MQTT-3.3.2-20] user properties (in order), payload format and content type pass through', async () => {
  await withBroker({}, async ({ port }) => {
    const sub = await connect5(port, { clientId: 'up-sub' });
    await subscribe5(sub.client, 1, 'up/#', { qos: 1 }, 42);
    const pub = await connect5(port, { clientId: 'up-pub' });
    const props: Properties = {
      payloadFormatIndicator: 1,
      contentType: 'application/json; charset=utf-8',
      userProperties: [
        ['z', '1'],
        ['a', '2'],
        ['z', '3'],
        ['same', ''],
        ['ключ', 'значение'],
      ],
    };
    pub.client.send(publish5('up/x', '{"k":1}', 1, 9, props));
    const got = await nextPublish(sub.client);
    assert.equal(got.properties?.payloadFormatIndicator, 1);
    assert.equal(got.properties?.contentType, props.contentType);
    assert.deepEqual(got.properties?.userProperties, props.userProperties);
    assert.deepEqual(got.properties?.subscriptionIdentifiers, [42]);
    sub.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-3.3.4-3] [MQTT-3.3.4-4] overlapping subscriptions give one message with every subscription identifier', async () => {
  await withBroker({}, async ({ port }) => {
    const sub = await connect5(port, { clientId: 'sid' });
    await subscribe5(sub.client, 1, 'sid/#', { qos: 0 }, 1);
    await subscribe5(sub.client, 2, 'sid/+', { qos: 1 }, 2);
    await subscribe5(sub.client, 3, 'sid/x', { qos: 0 });
    const pub = await connect5(port, { clientId: 'sid-pub' });
    pub.client.send(publish5('sid/x', 'm', 1, 1));
    const got = await nextPublish(sub.client);
    // [MQTT-3.3.4-2] the highest QoS of the matching subscriptions.
    assert.equal(got.qos, 1);
    assert.deepEqual([...(got.properties?.subscriptionIdentifiers ?? [])].sort(), [1, 2]);
    assert.equal((await sub.client.collect(200)).filter((p) => p.type === 3).length, 0);
    sub.client.destroy();
    pub.client.destroy();
  });
});

test('[MQTT-3.3.2-4] a payload that is not UTF-8 with Payload Format Indicator 1 is refused with 0x99', async () => {
  await withBroker({}, async ({ port }) => {
    const pub = await connect5(port, { clientId: 'pfi' });
    pub.client.send(publish5('pfi/x', Buffer.from([0xff, 0xfe]), 1, 5, { payloadFormatIndicator: 1 }));
    const ack = await nextAck(pub.client, 4);
    assert.equal(ack.reasonCode, 0x99);
    // At QoS 0 there is no acknowledgement to carry the code: the server disconnects with it.
    pub.client.send(publish5('pfi/x', Buffer.from([0xc3, 0x28]), 0, 0, { payloadFormatIndicator: 1 }));
    assert.equal((await pub.client.nextOfType(14)).reasonCode, 0x99);
    assert.ok(await pub.client.waitClosed());
  });
});

test('3.1.1 and 5.0 clients exchange messages; properties are dropped towards 3.1.1', async () => {
  await withBroker({}, async ({ port }) => {
    const old = await RawClient.connect(port, { clientId: 'v4', version: 4 });
    assert.equal(old.connack.reasonCode, 0);
    assert.deepEqual(await subscribe(old.client, 1, [['mix/#', 1]]), [1]);
    const v5 = await connect5(port, { clientId: 'v5' });
    await subscribe5(v5.client, 1, 'mix/#', { qos: 1 }, 7);
    v5.client.send(
      publish5('mix/from5', 'hello', 1, 1, {
        userProperties: [['k', 'v']],
        contentType: 'text/plain',
        messageExpiryInterval: 30,
      }),
    );
    const at4 = await old.client.nextOfType(3);
    assert.equal(at4.topic, 'mix/from5');
    assert.equal(at4.payload.toString(), 'hello');
    assert.equal(at4.properties, undefined);
    old.client.send({ type: 4, packetId: at4.packetId, reasonCode: 0 });
    const echo = await nextPublish(v5.client);
    assert.equal(echo.properties?.contentType, 'text/plain');
    old.client.send(publishPacket('mix/from4', 'hi', 1, 3));
    const at5 = await nextPublish(v5.client);
    assert.equal(at5.topic, 'mix/from4');
    assert.deepEqual(at5.properties?.subscriptionIdentifiers, [7]);
    assert.equal(at5.properties?.userProperties, undefined);
    old.client.destroy();
    v5.client.destroy();
  });
});
