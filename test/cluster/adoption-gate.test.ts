// The adoption gate (src/cluster/adoption-gate.ts): while a node adopts a dead node's sessions, each message
// (by its cluster-wide id) reaches an adopted session once, whichever way it comes and whether the session
// already held it when it was loaded; share group copies, messages without an id and other sessions pass.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryEngine } from '../../src/broker/delivery-engine.js';
import { Message } from '../../src/broker/message.js';
import { type Delivery, Session } from '../../src/broker/session.js';
import type { ShareGroup } from '../../src/broker/topic-tree.js';
import { ADOPTED_IDS_MAX, AdoptionGate } from '../../src/cluster/adoption-gate.js';

function message(epoch: number, seq: number): Message {
  const m = new Message('t', Buffer.from(`${epoch}.${seq}`), 2, false, undefined, 'pub', 0);
  m.clusterEpoch = epoch;
  m.clusterSeq = seq;
  return m;
}

/** A stored QoS 2 delivery of `m` (packet id 0: queued). */
function qos2Delivery(m: Message, seq: number, packetId = 0, group?: ShareGroup): Delivery {
  const d: Delivery = {
    message: m,
    qos: 2,
    retain: false,
    subscriptionIds: undefined,
    packetId,
    released: false,
    seq,
  };
  if (group !== undefined) d.group = group;
  return d;
}

/** Only the gate of a delivery engine is used. */
function engine(): DeliveryEngine {
  return Object.create(DeliveryEngine.prototype) as DeliveryEngine;
}

test('a watched session gets each id once, counting what it held when loaded; others pass', () => {
  const delivery = engine();
  const gate = new AdoptionGate(delivery);
  gate.watch('s');
  assert.notEqual(delivery.gate, undefined, 'the gate is installed while a session is watched');
  const session = new Session('s');
  const stored = message(3, 10);
  session.enqueue(qos2Delivery(stored, 1));
  session.inflight.set(9, qos2Delivery(message(3, 11), 2, 9));
  gate.seed(session);
  const admit = delivery.gate!;
  assert.equal(admit(session, message(3, 10), undefined), false, 'queued when loaded');
  assert.equal(admit(session, message(3, 11), undefined), false, 'in flight when loaded');
  assert.equal(admit(session, message(3, 12), undefined), true, 'new');
  assert.equal(admit(session, message(3, 12), undefined), false, 'the same id again (drained after direct)');
  assert.equal(admit(session, message(4, 12), undefined), true, 'same sequence, other origin');
  assert.equal(admit(session, message(0, 0), undefined), true, 'no id');
  assert.equal(admit(session, message(0, 0), undefined), true, 'no id, again');
  const group = {} as ShareGroup;
  assert.equal(admit(session, message(3, 12), group), true, 'a share group copy is its own delivery');
  assert.equal(admit(new Session('other'), message(3, 12), undefined), true, 'not watched');
  assert.equal(admit(session, message(2 ** 22, 2 ** 33), undefined), true, 'large ids');
  assert.equal(admit(session, message(2 ** 22, 2 ** 33), undefined), false, 'large ids, again');
  gate.unwatch('s');
  assert.equal(delivery.gate, undefined, 'removed with the last watched session');
});

test('adoptions that overlap keep watching until the last one ends; memory is bounded per session', () => {
  const delivery = engine();
  const gate = new AdoptionGate(delivery);
  gate.watch('s');
  gate.watch('s');
  gate.unwatch('s');
  const session = new Session('s');
  assert.equal(delivery.gate!(session, message(1, 1), undefined), true);
  assert.equal(delivery.gate!(session, message(1, 1), undefined), false);
  for (let i = 2; i < ADOPTED_IDS_MAX + 10; i++) delivery.gate!(session, message(1, i), undefined);
  assert.equal(gate.remembered('s'), ADOPTED_IDS_MAX);
  gate.unwatch('s');
  assert.equal(delivery.gate, undefined);
  assert.equal(gate.remembered('s'), 0);
});

test('a share group copy drained from a dead inbox passes once per group, not again when an adopted member holds it', () => {
  const delivery = engine();
  const gate = new AdoptionGate(delivery);
  gate.watch('m');
  const g1 = { name: 'g1', filter: 'f/#' } as ShareGroup;
  const g2 = { name: 'g2', filter: 'f/#' } as ShareGroup;
  const member = new Session('m');
  // The dead node had delivered 5.1 to this member for g1 before it died; the inbox entry was left behind.
  member.enqueue(qos2Delivery(message(5, 1), 1, 0, g1));
  gate.seed(member);
  assert.equal(gate.firstForGroup(g1, message(5, 1)), false, 'held by an adopted member of g1');
  assert.equal(gate.firstForGroup(g2, message(5, 1)), true, 'another group gets its own copy');
  assert.equal(gate.firstForGroup(g1, message(5, 2)), true, 'a new message for g1');
  assert.equal(gate.firstForGroup(g1, message(5, 2)), false, 'drained twice');
  assert.equal(gate.firstForGroup(g1, message(0, 0)), true, 'no id');
  // The member's regular subscription still gets its own copy of what it holds through the group [MQTT-4.8.2].
  assert.equal(delivery.gate!(member, message(5, 1), undefined), true);
  gate.unwatch('m');
  assert.equal(delivery.gate, undefined);
  assert.equal(gate.firstForGroup(g1, message(5, 1)), true, 'forgotten once no adoption runs');
});
