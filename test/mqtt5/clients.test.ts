// Real MQTT 5 clients against Culex: Debian mosquitto_pub / mosquitto_sub / mosquitto_rr with -V 5 and -D
// properties, Python paho-mqtt with MQTTv5, and the npm `mqtt` client at protocolVersion 5.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { withBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/net.js';
import { start } from '../helpers/run.js';
import { requirePythonModule, requireTool } from '../helpers/tools.js';
import { connect5, nextPublish, publish5, subscribe5 } from './helpers.js';

// libmosquitto 2.0.11 treats a PUBLISH with an empty topic as a protocol error even after it advertised a Topic
// Alias Maximum, so mosquitto_sub is run without one here (its default): Culex then sends no aliases.
test('mosquitto_sub / mosquitto_pub -V 5 carry user properties, content type, subscription id and response topic', {
  skip: requireTool('mosquitto_sub', 'mosquitto_pub'),
  timeout: 30_000,
}, async () => {
  await withBroker({}, async ({ port, broker }) => {
    const sub = start('mosquitto_sub', [
      '-V',
      '5',
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-i',
      'tool-sub',
      '-t',
      'tool/#',
      '-C',
      '3',
      '-W',
      '8',
      '-D',
      'subscribe',
      'subscription-identifier',
      '9',
      '-F',
      '%t|%p|%P|%C|%S|%R',
    ]);
    assert.ok(await waitFor(() => broker.subscriptions.count > 0, 5000), 'mosquitto_sub subscribed');
    for (let i = 0; i < 3; i++) {
      const pub = start('mosquitto_pub', [
        '-V',
        '5',
        '-p',
        String(port),
        '-h',
        '127.0.0.1',
        '-t',
        'tool/x',
        '-m',
        `m${i}`,
        '-q',
        '1',
        '-D',
        'publish',
        'user-property',
        'k',
        'v',
        '-D',
        'publish',
        'user-property',
        'k',
        'w',
        '-D',
        'publish',
        'content-type',
        'text/x',
        '-D',
        'publish',
        'response-topic',
        'tool/reply',
      ]);
      assert.equal((await pub.done).status, 0);
    }
    const out = await sub.done;
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(
      out.stdout.trim().split('\n'),
      [0, 1, 2].map((i) => `tool/x|m${i}|k:v k:w|text/x|9|tool/reply`),
    );
  });
});

test('mosquitto_rr -V 5 gets its response through Response Topic and Correlation Data', {
  skip: requireTool('mosquitto_rr'),
  timeout: 30_000,
}, async () => {
  await withBroker({}, async ({ port }) => {
    const responder = await connect5(port, { clientId: 'rr-responder' });
    await subscribe5(responder.client, 1, 'rr/req');
    const rr = start('mosquitto_rr', [
      '-V',
      '5',
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-t',
      'rr/req',
      '-e',
      'rr/resp',
      '-m',
      'ping',
      '-W',
      '8',
    ]);
    const req = await nextPublish(responder.client, 8000);
    assert.equal(req.properties?.responseTopic, 'rr/resp');
    const corr = req.properties?.correlationData;
    responder.client.send(
      publish5('rr/resp', 'pong', 0, 0, corr === undefined ? undefined : { correlationData: corr }),
    );
    const out = await rr.done;
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'pong');
    responder.client.destroy();
  });
});

const PAHO_SCRIPT = String.raw`
import json, sys, time, threading
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.subscribeoptions import SubscribeOptions
port = int(sys.argv[1])
got = []
done = threading.Event()
connack = {}
def on_connect(c, u, flags, rc, props=None):
    connack['rc'] = int(rc.value) if hasattr(rc, 'value') else int(rc)
    connack['props'] = props.json() if props is not None else {}
    sp = Properties(PacketTypes.SUBSCRIBE)
    sp.SubscriptionIdentifier = 5
    c.subscribe('paho/#', options=SubscribeOptions(qos=1, noLocal=False), properties=sp)
def on_subscribe(c, u, mid, rcs, props=None):
    pp = Properties(PacketTypes.PUBLISH)
    pp.UserProperty = [('a', '1'), ('b', '2')]
    pp.ResponseTopic = 'paho/reply'
    pp.CorrelationData = b'\x01\x02'
    pp.MessageExpiryInterval = 30
    c.publish('paho/x', b'hello', qos=1, properties=pp)
def on_message(c, u, msg):
    p = msg.properties
    got.append({'topic': msg.topic, 'payload': msg.payload.decode(), 'qos': msg.qos,
                'user': [list(x) for x in getattr(p, 'UserProperty', [])],
                'response': getattr(p, 'ResponseTopic', None),
                'corr': getattr(p, 'CorrelationData', b'').hex(),
                'expiry': getattr(p, 'MessageExpiryInterval', None),
                'subid': getattr(p, 'SubscriptionIdentifier', None)})
    done.set()
c = mqtt.Client(client_id='paho5', protocol=mqtt.MQTTv5)
c.on_connect = on_connect
c.on_subscribe = on_subscribe
c.on_message = on_message
cp = Properties(PacketTypes.CONNECT)
cp.SessionExpiryInterval = 0
cp.RequestResponseInformation = 1
c.connect('127.0.0.1', port, keepalive=30, clean_start=True, properties=cp)
c.loop_start()
done.wait(8)
c.disconnect()
c.loop_stop()
print(json.dumps({'connack': connack, 'got': got}))
`;

test('paho-mqtt MQTTv5 (python3) round trip with properties', {
  skip: requirePythonModule('paho.mqtt.client'),
  timeout: 30_000,
}, async () => {
  await withBroker({ options: { responseInformationPrefix: 'r/' } }, async ({ port }) => {
    const py = start('/usr/bin/python3', ['-c', PAHO_SCRIPT, String(port)], 15_000);
    const out = await py.done;
    assert.equal(out.status, 0, out.stderr);
    const result = JSON.parse(out.stdout) as {
      connack: { rc: number; props: Record<string, unknown> };
      got: {
        topic: string;
        payload: string;
        qos: number;
        user: string[][];
        response: string;
        corr: string;
        expiry: number;
        subid: number[] | number;
      }[];
    };
    assert.equal(result.connack.rc, 0);
    assert.equal(result.connack.props.ResponseInformation, 'r/paho5');
    assert.equal(result.got.length, 1);
    const m = result.got[0]!;
    assert.equal(m.topic, 'paho/x');
    assert.equal(m.payload, 'hello');
    assert.equal(m.qos, 1);
    assert.deepEqual(m.user, [
      ['a', '1'],
      ['b', '2'],
    ]);
    assert.equal(m.response, 'paho/reply');
    assert.equal(m.corr, '0102');
    assert.ok(m.expiry <= 30 && m.expiry >= 24);
    assert.deepEqual(Array.isArray(m.subid) ? m.subid : [m.subid], [5]);
  });
});

test('npm mqtt client at protocolVersion 5: properties, subscription identifier, outgoing topic aliases', {
  timeout: 20_000,
}, async () => {
  await withBroker({}, async ({ port }) => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      clientId: 'npm5',
      reconnectPeriod: 0,
      properties: { topicAliasMaximum: 3, requestResponseInformation: false },
    });
    const received: { topic: string; payload: string; props: Record<string, unknown> | undefined }[] = [];
    client.on('message', (topic, payload, packet) => {
      received.push({
        topic,
        payload: payload.toString(),
        props: packet.properties as Record<string, unknown> | undefined,
      });
    });
    await client.subscribeAsync('npm/#', { qos: 1, properties: { subscriptionIdentifier: 77 } });
    for (let i = 0; i < 3; i++) {
      await client.publishAsync('npm/t', `n${i}`, {
        qos: 1,
        properties: { userProperties: { app: 'culex' }, contentType: 'text/plain' },
      });
    }
    assert.ok(await waitFor(() => received.length === 3, 5000));
    assert.deepEqual(
      received.map((r) => r.topic),
      ['npm/t', 'npm/t', 'npm/t'],
    );
    assert.deepEqual(
      received.map((r) => r.payload),
      ['n0', 'n1', 'n2'],
    );
    for (const r of received) {
      assert.deepEqual({ ...(r.props?.userProperties as object) }, { app: 'culex' });
      assert.equal(r.props?.contentType, 'text/plain');
      assert.deepEqual(r.props?.subscriptionIdentifier, 77);
      assert.equal(r.props?.topicAlias, 1);
    }
    await client.endAsync();
  });
});
