// Deep topics and filters: the broker refuses more than Mosquitto's 200 separators exactly as Mosquitto 2.0.11 does
// (checked against the real binary), and every walk of the subscription tree, the retained store and the ACL
// matcher is iterative, so even with the limit disabled no depth can exhaust the call stack.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { topicMatches } from '../../src/auth/topic-match.js';
import { Message } from '../../src/broker/message.js';
import { TrieRetainedStore } from '../../src/broker/retained-store.js';
import type { Session } from '../../src/broker/session.js';
import type { SubscriptionEntry } from '../../src/broker/subscription.js';
import { TopicTree } from '../../src/broker/topic-tree.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { type BrokerProcess, startMosquitto } from '../helpers/processes.js';
import {
  connectPacket,
  publishPacket,
  RawClient,
  subscribe,
  subscribePacket,
} from '../helpers/raw-client.js';
import { requireTool } from '../helpers/tools.js';

/** 65,535 '/' : 65,536 empty levels, the longest topic MQTT can carry. */
const DEEP = '/'.repeat(65535);
const session = {} as Session;

function entry(matchFilter: string): SubscriptionEntry {
  return {
    session,
    filter: matchFilter,
    matchFilter,
    shareGroup: undefined,
    qos: 0,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    identifier: 0,
  };
}

function message(topic: string, payload: string): Message {
  return new Message(topic, Buffer.from(payload), 0, true, undefined, 'p', 0);
}

test('TopicTree: 65,536-level filters are added, matched and removed without recursion', () => {
  const tree = new TopicTree();
  const exact = entry(DEEP);
  const plus = entry(`${'+/'.repeat(32767)}+`); // 32,768 levels
  const hash = entry(`${'/'.repeat(65533)}#`);
  const plusDeep = entry(`+${DEEP}`); // '+' then 65,536 empty levels
  const all = [exact, plus, hash, plusDeep];
  for (const e of all) tree.add(e);
  // Indexes into `all`, so that a failure does not print 65 KB filters.
  const matched = (topic: string) => tree.match(topic).entries.map((e) => all.indexOf(e));
  assert.deepEqual(matched(DEEP), [2, 0, 3]);
  assert.deepEqual(matched(`x${DEEP}`), [3]);
  assert.deepEqual(matched('/'.repeat(32767)), [1]);
  for (const e of all) tree.remove(e);
  assert.equal(tree.size, 0);
  assert.deepEqual(matched(DEEP), []);
  assert.deepEqual(matched(`x${DEEP}`), []);
});

test('RetainedStore: a 65,536-level topic is stored, found by deep filters and deleted without recursion', () => {
  const store = new TrieRetainedStore();
  store.set(message(DEEP, 'deep'));
  store.set(message('a/b', 'shallow'));
  assert.equal(store.get(DEEP)?.payload.toString(), 'deep');
  const topics = (filter: string) => store.match(filter, 0).map((m) => m.topic.length);
  store.set(message(`x${DEEP}`, 'x'));
  assert.deepEqual(topics(`+${DEEP}`), [65535, 65536]);
  store.set(message(`x${DEEP}`, ''));
  assert.deepEqual(topics(DEEP), [65535]);
  assert.deepEqual(topics(`+${DEEP.slice(1)}`), []); // one level short
  assert.deepEqual(topics(`+${DEEP}`), [65535]);
  assert.deepEqual(topics(`${'/'.repeat(30000)}#`), [65535]);
  assert.deepEqual(topics('#').sort(), [3, 65535]);
  assert.equal([...store.all()].length, 2);
  store.set(message(DEEP, ''));
  assert.equal(store.size, 1);
  assert.equal(store.get(DEEP), undefined);
  assert.deepEqual(topics(DEEP), []);
});

test('ACL topic matching handles 65,536-level topics and filters', () => {
  assert.equal(topicMatches(DEEP, DEEP), true);
  assert.equal(topicMatches(`${'+/'.repeat(32767)}+`, '/'.repeat(32767)), true);
  assert.equal(topicMatches(`${'/'.repeat(65533)}#`, DEEP), true);
  assert.equal(topicMatches(`${'/'.repeat(65533)}x`, DEEP), false);
});

type Kind = 'subscribe' | 'unsubscribe' | 'publish' | 'publish0' | 'will';

/** What a broker sends after CONNECT (CONNACK excluded) for one deep packet, and whether it then closed. */
async function probe(port: number, version: ProtocolVersion, kind: Kind, levels: number): Promise<string> {
  const topic = Array.from({ length: levels }, () => 'a').join('/');
  const client = await RawClient.open(port);
  client.version = version;
  if (kind === 'will') {
    client.send(encodePacket(connectPacket({ clientId: 'p', version, will: { topic } }), version));
  } else {
    await client.handshake({ clientId: 'p', version });
    const packet: Packet =
      kind === 'subscribe'
        ? subscribePacket(1, [[topic, 1]])
        : kind === 'unsubscribe'
          ? { type: 10, packetId: 2, topicFilters: [topic] }
          : publishPacket(topic, 'hi', kind === 'publish' ? 1 : 0, 3);
    client.send(packet);
  }
  // A PINGRESP after the answers proves the connection stayed open; a closing broker never sends it.
  if (kind !== 'will') client.send([0xc0, 0x00]);
  const frames: string[] = [];
  let open = false;
  for (;;) {
    const raw = await client.nextRaw(2000);
    if (raw === null) break;
    const hex = raw.toString('hex');
    if (hex === 'd000' || hex.startsWith('20')) {
      // PINGRESP, or the CONNACK of an accepted will: the connection is open.
      open = true;
      break;
    }
    frames.push(hex);
  }
  client.destroy();
  return `${frames.join(' ') || '-'}${open ? ' open' : ' closed'}`;
}

const CASES: [ProtocolVersion, Kind][] = [];
for (const v of [4, 5] as const) {
  for (const k of ['subscribe', 'unsubscribe', 'publish', 'publish0', 'will'] as const) CASES.push([v, k]);
}

/** Mosquitto 2.0.11's answers for 202 levels (201 separators), recorded from the binary. */
const MOSQUITTO_202: Record<string, string> = {
  '4 subscribe': '- closed',
  '4 unsubscribe': '- closed',
  '4 publish': '- closed',
  '4 publish0': '- closed',
  '4 will': '- closed', // no CONNACK
  '5 subscribe': 'e00181 closed', // DISCONNECT Malformed Packet
  '5 unsubscribe': 'e00181 closed',
  '5 publish': 'e00182 closed', // DISCONNECT Protocol Error
  '5 publish0': 'e00182 closed',
  '5 will': '- closed',
};

test('more than 201 levels (200 separators) closes the connection exactly as Mosquitto 2.0.11 does', async () => {
  await withBroker({}, async ({ port }) => {
    for (const [v, k] of CASES) {
      assert.equal(await probe(port, v, k, 202), MOSQUITTO_202[`${v} ${k}`], `${v} ${k} 202 levels`);
      // 201 levels are still accepted: no DISCONNECT, the connection stays open.
      const ok = await probe(port, v, k, 201);
      assert.match(ok, / open$/, `${v} ${k} 201 levels: ${ok}`);
      assert.doesNotMatch(ok, /^e0/, `${v} ${k} 201 levels`);
    }
  });
});

test('a 65,535-separator filter with the default limit closes that connection; the broker serves on', async () => {
  await withBroker({}, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'deep' });
    client.send(subscribePacket(1, [[DEEP, 0]]));
    assert.ok(await client.waitClosed());
    const { client: next } = await RawClient.connect(port, { clientId: 'next' });
    assert.deepEqual(await subscribe(next, 1, [['a/b', 0]]), [0]);
    next.disconnect();
  });
});

test('with the limit disabled, 65,536-level subscribe, publish, unsubscribe and disconnect keep the broker up', async () => {
  await withBroker({ options: { maxTopicLevels: 0 } }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'deep', clean: true });
    assert.deepEqual(
      await subscribe(client, 1, [
        [DEEP, 0],
        [`${'/'.repeat(65533)}#`, 0],
      ]),
      [0, 0],
    );
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    pub.send(publishPacket(DEEP, 'x', 0, 0, { retain: true }));
    const got = await client.nextOfType(3);
    assert.equal(got.topic.length, 65535);
    client.send({ type: 10, packetId: 2, topicFilters: [DEEP] });
    await client.nextOfType(11);
    // A new subscription gets the deep retained message; disconnecting removes the deep '#' filter.
    assert.deepEqual(await subscribe(client, 3, [[DEEP, 0]]), [0]);
    assert.equal((await client.nextOfType(3)).retain, true);
    client.disconnect();
    await client.waitClosed();
    pub.send(publishPacket(DEEP, '', 0, 0, { retain: true }));
    const { client: after } = await RawClient.connect(port, { clientId: 'after' });
    assert.deepEqual(await subscribe(after, 1, [['#', 0]]), [0]);
    after.disconnect();
    pub.disconnect();
  });
});

let mosquitto: BrokerProcess | undefined;
const noMosquitto = requireTool('mosquitto');
before(async () => {
  if (noMosquitto === false) mosquitto = await startMosquitto();
});
after(async () => {
  await mosquitto?.stop();
});

test('oracle: Mosquitto 2.0.11 answers 201 and 202 levels as recorded', { skip: noMosquitto }, async () => {
  const port = mosquitto!.port;
  for (const [v, k] of CASES) {
    assert.equal(await probe(port, v, k, 202), MOSQUITTO_202[`${v} ${k}`], `${v} ${k} 202 levels`);
    assert.match(await probe(port, v, k, 201), / open$/, `${v} ${k} 201 levels`);
  }
});
