// MQTT 5.0 conformance, section 3.3 (PUBLISH), checked on the wire.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import type { RawClient } from '../helpers/raw-client.js';
import { connect5, publish5, subscribe5 } from '../mqtt5/helpers.js';
import { BAD_UTF8, packet, str } from './bytes.js';
import { payloads, rejected, topics } from './v5-util.js';

let b: TestBroker;
before(async () => {
  b = await startBroker();
});
after(() => b.stop());

async function connected(clientId: string): Promise<RawClient> {
  const { client, connack } = await connect5(b.port, { clientId });
  assert.equal(connack.reasonCode, 0);
  return client;
}

/** What a fresh subscriber to `filter` receives as retained messages. */
async function retainedFor(filter: string): Promise<string[]> {
  const s = await connected(`ret-probe-${filter}`);
  await subscribe5(s, 1, filter);
  const got = payloads(await s.collect(200, 1));
  s.destroy();
  return got;
}

test('[MQTT-3.3.1-5] 5.0: RETAIN 1 replaces the retained message of the topic', async () => {
  const pub = await connected('p5-r5');
  pub.send(publish5('r5/t', 'old', 1, 1, undefined, true));
  pub.send(publish5('r5/t', 'new', 1, 2, undefined, true));
  await pub.collect(200, 2);
  assert.deepEqual(await retainedFor('r5/t'), ['new']);
  pub.destroy();
});

test('[MQTT-3.3.1-6] [MQTT-3.3.1-7] 5.0: an empty retained payload removes the retained message, is forwarded, and is not stored', async () => {
  const pub = await connected('p5-r6');
  pub.send(publish5('r6/t', 'x', 1, 1, undefined, true));
  await pub.nextOfType(4);
  const live = await connected('p5-r6-l');
  await subscribe5(live, 1, 'r6/t');
  await live.collect(150, 1); // the retained 'x'
  pub.send(publish5('r6/t', '', 1, 2, undefined, true));
  await pub.nextOfType(4);
  const fwd = await live.collect(200, 1);
  assert.deepEqual(payloads(fwd), ['']);
  assert.deepEqual(await retainedFor('r6/t'), []);
  live.destroy();
  pub.destroy();
});

test('[MQTT-3.3.1-8] 5.0: RETAIN 0 leaves the retained message alone', async () => {
  const pub = await connected('p5-r8');
  pub.send(publish5('r8/t', 'kept', 1, 1, undefined, true));
  pub.send(publish5('r8/t', 'live', 1, 2));
  pub.send(publish5('r8/t', '', 1, 3));
  pub.send(publish5('r8/u', 'never', 1, 4));
  await pub.collect(200, 4);
  assert.deepEqual(await retainedFor('r8/#'), ['kept']);
  pub.destroy();
});

test('[MQTT-3.3.2-1] 5.0: a topic name that is not valid UTF-8 is a Malformed Packet', async () => {
  const c = await connected('p5-utf');
  await rejected(c, packet(0x30, str(BAD_UTF8), [0], Buffer.from('x')), [0x81]);
});

test('[MQTT-3.3.2-3] 5.0: the topic name sent to a subscriber matches its filter', async () => {
  const sub = await connected('p5-name-s');
  await subscribe5(sub, 1, 'name5/+/x/#');
  const pub = await connected('p5-name-p');
  for (const t of ['name5/a/y', 'name5/a/x/b', 'name5/a/x']) pub.send(publish5(t, t));
  assert.deepEqual(topics(await sub.collect(250, 2)), ['name5/a/x/b', 'name5/a/x']);
  sub.destroy();
  pub.destroy();
});

test('[MQTT-3.3.2-13] [MQTT-3.3.2-19] 5.0: a Response Topic or Content Type that is not valid UTF-8 is a Malformed Packet', async () => {
  for (const id of [0x08, 0x03]) {
    const c = await connected('p5-prop-utf');
    const props = Buffer.concat([Buffer.from([id]), str(BAD_UTF8)]);
    await rejected(c, packet(0x30, str('prop/t'), [props.length], props, Buffer.from('x')), [0x81]);
  }
});

test('[MQTT-3.3.2-14] 5.0: a Response Topic with wildcards is refused', async () => {
  const c = await connected('p5-rt-wild');
  const props = Buffer.concat([Buffer.from([0x08]), str('reply/#')]);
  await rejected(c, packet(0x30, str('rt/t'), [props.length], props, Buffer.from('x')), [0x81, 0x82]);
});

test('[MQTT-3.3.4-1] 5.0: the server answers QoS 0 with nothing, QoS 1 with PUBACK, QoS 2 with PUBREC', async () => {
  const c = await connected('p5-resp');
  c.send(publish5('resp5/t', '0', 0));
  c.send(publish5('resp5/t', '1', 1, 11));
  c.send(publish5('resp5/t', '2', 2, 22));
  const got = await c.collect(250, 2);
  assert.deepEqual(
    got.map((p) => [p.type, 'packetId' in p ? p.packetId : 0]),
    [
      [4, 11],
      [5, 22],
    ],
  );
  c.destroy();
});
