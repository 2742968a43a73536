// The Redis store (cluster sessions) against a real redis-server: the store contract (store-contract.ts) with
// what Redis keeps, ownership per node, the per-client read used at takeover, names unique across nodes, and
// commit participants joining the store's one MULTI per turn.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/persistence/redis-store.js';
import { type RedisServer, requireRedis, startRedis } from '../helpers/redis.js';
import { delivery, msg, storeContract } from './store-contract.js';

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

async function keysOf(prefix: string, pattern: string): Promise<string[]> {
  return (await connection().keys(`${prefix}${pattern}`)).sort();
}

storeContract<RedisStore>({
  name: 'Redis store',
  skip,
  place: freshPrefix,
  open: (prefix) => open('n1', prefix),
  async shut(store) {
    store.close();
    await store.closed();
  },
  storedMessages: async (prefix) => (await keysOf(prefix, 'msg:*')).length,
  afterRoundTrip(state) {
    // Connected when its node stopped: disconnected from now on.
    assert.ok((state.sessions[0]?.disconnectedAt ?? 0) > 0);
    // Read back under local (negative) numbers, never colliding with the broker's own.
    assert.ok((state.deliveries[0]?.seq ?? 0) < 0 && (state.deliveries[0]?.message.id ?? 0) < 0);
  },
  async afterExpiry(_again, prefix) {
    // The expired session and the expired message left Redis.
    assert.deepEqual(await keysOf(prefix, 'session:old*'), []);
    assert.equal((await keysOf(prefix, 'msg:*')).length, 2);
    assert.equal(await connection().hlen(`${prefix}session:c:deliveries`), 2);
  },
  async afterStoredOnce(prefix) {
    assert.equal(await connection().hget((await keysOf(prefix, 'msg:*'))[0]!, 'r'), '3');
  },
  async afterShared(prefix) {
    assert.deepEqual(await keysOf(prefix, 'session:s3*'), []);
    assert.equal(await connection().hget(`${prefix}owner`, 's3'), null);
  },
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
