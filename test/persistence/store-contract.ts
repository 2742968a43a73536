// The contract every durable store meets, run against each one (sqlite-store.test.ts, redis-store.test.ts): round
// trips of every record, share groups and expiry at load, and a message stored once for many references. What is
// particular to a store (its rows, its keys) is checked by the hooks each test file gives.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/broker/message.js';
import type { Delivery } from '../../src/broker/session.js';
import { ShareGroup } from '../../src/broker/topic-tree.js';
import type { PersistenceStore, RestoredState, SubscriptionRecord } from '../../src/persistence/store.js';

// The broker numbers what it stores (session-journal.ts); these stand in for it.
let lastSeq = 0;
let lastMessageId = 0;

export function delivery(message: Message, qos: 1 | 2, packetId = 0): Delivery {
  return { message, qos, retain: false, subscriptionIds: [3], packetId, released: false, seq: ++lastSeq };
}

export function msg(topic: string, payload: string, expiresAt = 0): Message {
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

const sharedSubscription: SubscriptionRecord = {
  filter: '$share/g/a/+',
  matchFilter: 'a/+',
  shareGroup: 'g',
  qos: 2,
  noLocal: false,
  retainAsPublished: true,
  retainHandling: 1,
  identifier: 3,
};

export interface StoreUnderTest<S extends PersistenceStore> {
  /** The test name's prefix. */
  readonly name: string;
  readonly skip: string | false;
  /** A new, empty place to keep data (a file, a key prefix). */
  place(): string;
  /** Opens the store kept at `place`: a second store opened there reads what the first committed. */
  open(place: string): Promise<S> | S;
  /** Closes the store and waits until what it held is written. */
  shut(store: S): Promise<void>;
  /** How many stored messages `place` holds (copies kept for more than one reference). */
  storedMessages(place: string): Promise<number> | number;
  /** Checks of what the store itself keeps after each test; `first` is the message delivered first. */
  afterRoundTrip?(state: RestoredState, place: string, first: Message): Promise<void> | void;
  afterExpiry?(again: S, place: string): Promise<void> | void;
  /** After three deliveries of one message are committed. */
  afterStoredOnce?(place: string): Promise<void> | void;
  /** After the last of them went. */
  afterShared?(place: string): Promise<void> | void;
}

export function storeContract<S extends PersistenceStore>(under: StoreUnderTest<S>): void {
  const { skip } = under;

  test(`${under.name}: sessions, subscriptions, deliveries (in order), QoS 2 state, retained and wills round-trip`, {
    skip,
  }, async () => {
    const place = under.place();
    const store = await under.open(place);
    store.load(Date.now());
    store.saveSession({
      clientId: 'c',
      expiryInterval: 0xffffffff,
      disconnectedAt: 0,
      username: 'bob',
      listenerPort: 1884,
    });
    store.saveSubscription('c', sharedSubscription);
    const m1 = msg('a/1', 'one');
    const d1 = delivery(m1, 2, 17);
    const d2 = delivery(msg('a/2', 'two'), 1);
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
    await under.shut(store);

    const again = await under.open(place);
    const state = again.load(Date.now());
    assert.equal(state.sessions.length, 1);
    assert.deepEqual([state.sessions[0]?.username, state.sessions[0]?.listenerPort], ['bob', 1884]);
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
    for (const d of state.deliveries) {
      assert.deepEqual(d.message.properties?.correlationData, Buffer.from([1, 2]));
      assert.deepEqual(d.message.properties?.userProperties, [['k', 'v']]);
      assert.equal(d.message.origin, 'pub');
    }
    assert.equal(state.retained[0]?.payload.toString(), 'one');
    assert.deepEqual(state.incomingQos2, [{ clientId: 'c', packetId: 99 }]);
    assert.equal(state.wills[0]?.will.payload.toString(), 'bye');
    assert.deepEqual([state.wills[0]?.dueAt, state.wills[0]?.delay], [123, 7]);
    await under.afterRoundTrip?.(state, place, m1);
    await under.shut(again);
  });

  test(`${under.name}: a delivery keeps its share group; expired sessions and messages are dropped at load`, {
    skip,
  }, async () => {
    const place = under.place();
    const store = await under.open(place);
    const now = Date.now();
    store.load(now);
    store.saveSession({ clientId: 'c', expiryInterval: 3600, disconnectedAt: now - 60_000 });
    store.saveSession({ clientId: 'old', expiryInterval: 10, disconnectedAt: now - 60_000 });
    const shared = delivery(msg('t', 'via group'), 1);
    shared.group = new ShareGroup('g', 't');
    store.addDelivery('c', shared);
    store.addDelivery('c', delivery(msg('t', 'expired', now - 1), 1));
    store.addDelivery('c', delivery(msg('t', 'kept', now + 60_000), 1));
    store.addDelivery('old', delivery(msg('t', 'gone with its session'), 1));
    await store.commit();
    await under.shut(store);

    const again = await under.open(place);
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
    await under.afterExpiry?.(again, place);
    await under.shut(again);
  });

  test(`${under.name}: a message delivered to several sessions is stored once and goes with its last delivery`, {
    skip,
  }, async () => {
    const place = under.place();
    const store = await under.open(place);
    store.load(Date.now());
    const m = msg('t', 'shared');
    const ds = ['s1', 's2', 's3'].map((id) => {
      store.saveSession({ clientId: id, expiryInterval: 60, disconnectedAt: Date.now() });
      const d = delivery(m, 1);
      store.addDelivery(id, d);
      return d;
    });
    await store.commit();
    assert.equal(await under.storedMessages(place), 1);
    await under.afterStoredOnce?.(place);
    store.removeDelivery(ds[0]!);
    assert.equal(store.holdsOutput, false, 'a finished delivery does not hold output');
    await store.commit();
    assert.equal(await under.storedMessages(place), 1);
    store.removeDelivery(ds[1]!);
    store.deleteSession('s3', [ds[2]!]);
    await store.commit();
    assert.equal(await under.storedMessages(place), 0);
    await under.afterShared?.(place);
    await under.shut(store);
  });
}
