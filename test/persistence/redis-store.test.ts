// The Redis store (cluster sessions) against a real redis-server: round trips of every record, messages stored
// once and collected with their last delivery, expiry at load, ownership per node, the per-client read used at
// takeover, names unique across nodes, and commit participants joining the store's one MULTI per turn.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Message } from '../../src/broker/message.js';
import type { Delivery } from '../../src/broker/session.js';
import { ShareGroup } from '../../src/broker/topic-tree.js';
import { RedisStore } from '../../src/persistence/redis-store.js';
import type { SubscriptionRecord } from '../../src/persistence/store.js';
import { type RedisServer, requireRedis, startRedis } from '../helpers/redis.js';

const skip = requireRedis();
let server: RedisServer;
const connections: Redis[] = [];
let prefixNo = 0;

before(async () => {
  if (skip === false) server = await startRedis();
});
after(async () => {
  for (const c of connections) c.disconnect();
  await server?.stop();
});

function connection(): Redis {
  const c = new Redis(server.url, { lazyConnect: false });
  connections.push(c);
  return c;
}

/** A store on its own key prefix, as node `nodeId`. */
function open(nodeId: string, prefix: string): Promise<RedisStore> {
  return RedisStore.open({ redis: connection(), nodeId, prefix });
}

function freshPrefix(): string {
  return `t${++prefixNo}:`;
}

let lastSeq = 0;
let lastMessageId = 0;

function delivery(message: Message, qos: 1 | 2, packetId = 0): Delivery {
  return { message, qos, retain: false, subscriptionIds: [3], packetId, released: false, seq: ++lastSeq };
}

function msg(topic: string, payload: string, expiresAt = 0): Message {
  const m = new Message(
    topic,
    Buffer.from(payload),
    1,
    false,
    { userProperties: [['k', 'v']], correlationData: Buffer.from([1, 2]) },
    'pub',
    expiresAt,
  );
  m.id = ++lastMessageId;
  return m;
}

const sub: SubscriptionRecord = {
  filter: '$share/g/a/+',
  matchFilter: 'a/+',
  shareGroup: 'g',
  qos: 2,
  noLocal: false,
  retainAsPublished: true,
  retainHandling: 1,
  identifier: 3,
};

async function keysOf(prefix: string, pattern: string): Promise<string[]> {
  return (await connection().keys(`${prefix}${pattern}`)).sort();
}

test('sessions, subscriptions, deliveries (in order), QoS 2 state, retained and wills round-trip', {
  skip,
}, async () => {
  const prefix = freshPrefix();
  const store = await open('n1', prefix);
  store.load(Date.now());
  store.saveSession({
    clientId: 'c',
    expiryInterval: 0xffffffff,
    disconnectedAt: 0,
    username: 'bob',
    listenerPort: 1884,
  });
  store.saveSubscription('c', sub);
  const m1 = msg('a/1', 'one');
  const m2 = msg('a/2', 'two');
  const d1 = delivery(m1, 2, 17);
  const d2 = delivery(m2, 1);
  store.addDelivery('c', d1);
  store.addDelivery('c', d2);
  d1.released = true;
  store.updateDelivery(d1);
  store.addIncomingQos2('c', 99);
  store.setRetained('a/1', m1, undefined);
  store.saveWill({
    clientId: 'c',
    will: { topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: false },
    dueAt: 123,
    delay: 7,
  });
  assert.equal(store.pending, true);
  assert.equal(store.holdsOutput, true);
  await store.commit();
  assert.equal(store.pending, false);
  store.close();
  await store.closed();

  const again = await open('n1', prefix);
  const state = again.load(Date.now());
  assert.equal(state.sessions.length, 1);
  assert.deepEqual([state.sessions[0]?.username, state.sessions[0]?.listenerPort], ['bob', 1884]);
  // Connected when its node stopped: disconnected from now on.
  assert.ok((state.sessions[0]?.disconnectedAt ?? 0) > 0);
  assert.equal(state.subscriptions[0]?.shareGroup, 'g');
  assert.equal(state.subscriptions[0]?.retainHandling, 1);
  assert.deepEqual(
    state.deliveries.map((d) => [d.message.topic, d.packetId, d.released, d.qos]),
    [
      ['a/1', 17, true, 2],
      ['a/2', 0, false, 1],
    ],
  );
  assert.deepEqual(state.deliveries[0]?.subscriptionIds, [3]);
  assert.deepEqual(state.deliveries[0]?.message.properties?.correlationData, Buffer.from([1, 2]));
  assert.deepEqual(state.deliveries[0]?.message.properties?.userProperties, [['k', 'v']]);
  assert.equal(state.retained[0]?.payload.toString(), 'one');
  assert.deepEqual(state.incomingQos2, [{ clientId: 'c', packetId: 99 }]);
  assert.equal(state.wills[0]?.will.payload.toString(), 'bye');
  assert.deepEqual([state.wills[0]?.dueAt, state.wills[0]?.delay], [123, 7]);
  // Read back under local (negative) numbers, never colliding with the broker's own.
  assert.ok((state.deliveries[0]?.seq ?? 0) < 0 && (state.deliveries[0]?.message.id ?? 0) < 0);
  again.close();
  await again.closed();
});

test('a message delivered to several sessions is stored once and goes with its last delivery', {
  skip,
}, async () => {
  const prefix = freshPrefix();
  const store = await open('n1', prefix);
  store.load(Date.now());
  const m = msg('t', 'shared');
  const ds = ['s1', 's2', 's3'].map((id) => {
    store.saveSession({ clientId: id, expiryInterval: 60, disconnectedAt: Date.now() });
    const d = delivery(m, 1);
    store.addDelivery(id, d);
    return d;
  });
  await store.commit();
  assert.equal((await keysOf(prefix, 'msg:*')).length, 1);
  assert.equal(await connection().hget((await keysOf(prefix, 'msg:*'))[0]!, 'r'), '3');
  store.removeDelivery(ds[0]!);
  assert.equal(store.holdsOutput, false, 'a finished delivery does not hold output');
  await store.commit();
  assert.equal((await keysOf(prefix, 'msg:*')).length, 1);
  store.removeDelivery(ds[1]!);
  store.deleteSession('s3', [ds[2]!]);
  await store.commit();
  assert.deepEqual(await keysOf(prefix, 'msg:*'), []);
  assert.deepEqual(await keysOf(prefix, 'session:s3*'), []);
  assert.equal(await connection().hget(`${prefix}owner`, 's3'), null);
  store.close();
});

test('a delivery keeps its share group; expired sessions and messages are dropped at load', {
  skip,
}, async () => {
  const prefix = freshPrefix();
  const store = await open('n1', prefix);
  store.load(Date.now());
  const now = Date.now();
  store.saveSession({ clientId: 'c', expiryInterval: 60, disconnectedAt: now });
  store.saveSession({ clientId: 'old', expiryInterval: 1, disconnectedAt: now - 5000 });
  const shared = delivery(msg('t', 'via group'), 1);
  shared.group = new ShareGroup('g', 't');
  store.addDelivery('c', shared);
  store.addDelivery('c', delivery(msg('t', 'expired', now - 1), 1));
  store.addDelivery('c', delivery(msg('t', 'kept'), 1));
  store.addDelivery('old', delivery(msg('t', 'of an expired session'), 1));
  await store.commit();
  store.close();
  await store.closed();

  const again = await open('n1', prefix);
  const state = again.load(now);
  assert.deepEqual(
    state.sessions.map((s) => s.clientId),
    ['c'],
  );
  assert.deepEqual(
    state.deliveries.map((d) => [d.message.payload.toString(), d.shareGroup, d.shareFilter]),
    [
      ['via group', 'g', 't'],
      ['kept', undefined, undefined],
    ],
  );
  await again.commit();
  // The expired session and the expired message left Redis.
  assert.deepEqual(await keysOf(prefix, 'session:old*'), []);
  assert.equal((await keysOf(prefix, 'msg:*')).length, 2);
  assert.equal(await connection().hlen(`${prefix}session:c:deliveries`), 2);
  again.close();
});

test('each node loads the sessions it owns; loadClient reads any one, in order (with cluster ids), across nodes', {
  skip,
}, async () => {
  const prefix = freshPrefix();
  const a = await open('a', prefix);
  a.load(Date.now());
  a.saveSession({ clientId: 'ca', expiryInterval: 60, disconnectedAt: 0 });
  const first = delivery(msg('t', '1'), 1, 7);
  // Its cluster-wide id is stored with it (an adopter dedups the dead node's inbox against it).
  first.message.clusterEpoch = 12;
  first.message.clusterSeq = 345;
  a.addDelivery('ca', first);
  a.addDelivery('ca', delivery(msg('t', '2'), 2));
  await a.commit();

  const b = await open('b', prefix);
  assert.deepEqual(b.load(Date.now()).sessions, []);
  assert.deepEqual(await b.owners.ownedBy('a'), ['ca']);
  const got = await b.loadClient('ca');
  assert.deepEqual(
    got?.deliveries.map((d) => [d.message.payload.toString(), d.packetId]),
    [
      ['1', 7],
      ['2', 0],
    ],
  );
  assert.deepEqual(
    got?.deliveries.map((d) => [d.message.clusterEpoch, d.message.clusterSeq]),
    [
      [12, 345],
      [0, 0],
    ],
  );
  // Node a hands the session over; b owns it and adds a third delivery after the two it read.
  a.release('ca', [first]);
  await a.commit();
  b.saveSession({ clientId: 'ca', expiryInterval: 60, disconnectedAt: 0 });
  // Same broker numbers as node a used: different Redis names (another epoch), no collision.
  const third = msg('t', '3');
  third.id = first.message.id;
  const d3 = delivery(third, 1);
  d3.seq = first.seq;
  b.addDelivery('ca', d3);
  // A delivery read back is updated under its Redis name.
  const read = got!.deliveries[1]!;
  b.updateDelivery({ ...read, group: undefined, packetId: 9 });
  await b.commit();
  assert.deepEqual(await a.owners.ownedBy('a'), []);
  assert.deepEqual(await a.owners.ownedBy('b'), ['ca']);
  const again = await a.loadClient('ca');
  assert.deepEqual(
    again?.deliveries.map((d) => [d.message.payload.toString(), d.packetId]),
    [
      ['1', 7],
      ['2', 9],
      ['3', 0],
    ],
  );
  assert.equal((await keysOf(prefix, 'msg:*')).length, 3);
  assert.equal(await a.loadClient('nobody'), undefined);
  a.close();
  b.close();
});

test('commit participants write into the same MULTI and hold output while they have writes', {
  skip,
}, async () => {
  const prefix = freshPrefix();
  const store = await open('n1', prefix);
  store.load(Date.now());
  let scheduled = 0;
  store.onPending(() => scheduled++);
  let queued: string[] = [];
  const request = store.addCommitParticipant({
    get pending() {
      return queued.length > 0;
    },
    get holdsOutput() {
      return queued.length > 0;
    },
    write(pipeline) {
      for (const q of queued) pipeline.xadd(`${prefix}inbox:x`, '*', 'm', q);
      queued = [];
    },
  });
  assert.equal(store.pending, false);
  queued.push('forwarded');
  request();
  assert.equal(scheduled, 1);
  assert.equal(store.pending, true);
  assert.equal(store.holdsOutput, true);
  store.saveSession({ clientId: 'c', expiryInterval: 60, disconnectedAt: 0 });
  assert.equal(scheduled, 1, 'one commit per turn');
  await store.commit();
  assert.equal(store.pending, false);
  assert.equal(await connection().xlen(`${prefix}inbox:x`), 1);
  assert.equal(await connection().hget(`${prefix}owner`, 'c'), 'n1');
  store.close();
});
