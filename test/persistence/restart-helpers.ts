// What the restart tests of every store share (restart.test.ts on SQLite, redis-restart.test.ts on Redis): raw
// clients, acknowledgements, and the QoS 2 scenarios across a restart, checked against what the store holds.

import assert from 'node:assert/strict';
import type { AckPacket, Packet, PublishPacket } from '../../src/protocol/packets.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

/** A broker on a store, started by the test file; `stop` waits until the store is closed. */
export interface RunningBroker {
  readonly port: number;
  stop(): Promise<void>;
}

export async function client(port: number, clientId: string, clean: boolean): Promise<RawClient> {
  const { client: c, connack } = await RawClient.connect(port, { clientId, clean });
  assert.equal(connack.reasonCode, 0);
  return c;
}

export async function offlineSubscriber(
  port: number,
  clientId: string,
  filter: string,
  qos: 1 | 2,
): Promise<void> {
  const c = await client(port, clientId, false);
  await subscribe(c, 1, [[filter, qos]]);
  c.disconnect();
  await c.waitClosed();
}

/** The next PUBACK / PUBREC / PUBREL / PUBCOMP of that type. */
export async function nextAck(c: RawClient, type: 4 | 5 | 6 | 7): Promise<AckPacket> {
  for (;;) {
    const p = await c.next();
    if (p.type === type) return p as AckPacket;
  }
}

function isPublish(p: Packet): p is PublishPacket {
  return p.type === 3;
}

/**
 * [MQTT-4.4.0-1] outgoing QoS 2 in flight is resent after a restart with DUP and the same packet identifier;
 * once released, only the PUBREL is [MQTT-4.3.3-3]. `finished` checks that the store let the delivery go.
 */
export async function outgoingQos2AcrossRestarts(
  start: () => Promise<RunningBroker>,
  finished: () => Promise<void> | void,
): Promise<void> {
  let run = await start();
  const sub = await client(run.port, 'sub', false);
  await subscribe(sub, 1, [['q2', 2]]);
  const pub = await client(run.port, 'pub', true);
  pub.send(publishPacket('q2', 'exactly-once', 2, 5));
  await nextAck(pub, 5);
  const first = await sub.nextOfType(3);
  assert.equal(first.qos, 2);
  sub.destroy();
  pub.destroy();
  await run.stop();

  run = await start();
  const again = await client(run.port, 'sub', false);
  const resent = (await again.collect(200)).filter(isPublish);
  assert.equal(resent.length, 1);
  assert.equal(resent[0]!.dup, true);
  assert.equal(resent[0]!.packetId, first.packetId);
  again.send({ type: 5, packetId: first.packetId, reasonCode: 0 });
  const rel = await nextAck(again, 6);
  assert.equal(rel.packetId, first.packetId);
  again.destroy();
  await run.stop();

  // Released before the restart: only the PUBREL is resent [MQTT-4.3.3-3].
  run = await start();
  const third = await client(run.port, 'sub', false);
  const packets = await third.collect(200);
  assert.deepEqual(
    packets.map((p) => p.type),
    [6],
  );
  third.send({ type: 7, packetId: first.packetId, reasonCode: 0 });
  await third.collect(50);
  third.disconnect();
  await new Promise((r) => setTimeout(r, 50));
  await finished();
  await run.stop();
}

/**
 * [MQTT-4.3.3-10] an incoming QoS 2 identifier survives a restart: the resent PUBLISH is not routed twice.
 * `stored` checks that the store holds the identifier before the restart.
 */
export async function incomingQos2AcrossRestart(
  start: () => Promise<RunningBroker>,
  stored: () => Promise<void> | void,
): Promise<void> {
  let run = await start();
  await offlineSubscriber(run.port, 'sub', 'in', 2);
  const pub = await client(run.port, 'pub', false);
  pub.send(publishPacket('in', 'once', 2, 7));
  await nextAck(pub, 5);
  await stored();
  pub.destroy();
  await run.stop();

  run = await start();
  const pub2 = await client(run.port, 'pub', false);
  pub2.send(publishPacket('in', 'once', 2, 7, { dup: true }));
  assert.equal((await nextAck(pub2, 5)).packetId, 7);
  pub2.send({ type: 6, packetId: 7, reasonCode: 0 });
  const comp = await nextAck(pub2, 7);
  assert.equal(comp.reasonCode, 0);
  pub2.disconnect();
  const sub = await client(run.port, 'sub', false);
  const got = (await sub.collect(300)).filter(isPublish);
  assert.equal(got.length, 1);
  sub.disconnect();
  await run.stop();
}
