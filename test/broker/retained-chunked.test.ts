// A new subscription's retained messages go out in chunks, one chunk per event-loop turn, so that a `#`
// subscriber to a million retained messages does not stall every other client for seconds. Asserted by order,
// not by time: packets sent in the same write as the SUBSCRIBE are handled after the first chunk only.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RETAINED_CHUNK } from '../../src/broker/retained-delivery.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { Packet, PublishPacket } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribePacket } from '../helpers/raw-client.js';

const COUNT = 3 * RETAINED_CHUNK + 500;

/** Stores COUNT retained messages r/0 .. r/COUNT-1 ("old i"); a QoS 1 marker acknowledged = all handled. */
async function storeRetained(port: number): Promise<void> {
  const { client } = await RawClient.connect(port, { clientId: 'source' });
  const packets: Buffer[] = [];
  for (let i = 0; i < COUNT; i++)
    packets.push(encodePacket(publishPacket(`r/${i}`, `old ${i}`, 0, 0, { retain: true }), 4));
  packets.push(encodePacket(publishPacket('marker', 'm', 1, 1), 4));
  client.send(Buffer.concat(packets));
  await client.nextOfType(4);
  client.disconnect();
}

/** Reads packets until `done` says so (or nothing comes for 2 s). */
async function readUntil(c: RawClient, done: (seen: Packet[]) => boolean): Promise<Packet[]> {
  const seen: Packet[] = [];
  while (!done(seen)) seen.push(await c.next(2000));
  return seen;
}

const publishes = (ps: Packet[]): PublishPacket[] => ps.filter((p): p is PublishPacket => p.type === 3);

test('retained messages for a `#` subscriber are spread over turns: a PINGREQ sent with the SUBSCRIBE is answered after the first chunk', async () => {
  await withBroker({}, async ({ port }) => {
    await storeRetained(port);
    const { client } = await RawClient.connect(port, { clientId: 'all' });
    client.send(
      Buffer.concat([encodePacket(subscribePacket(1, [['r/#', 0]]), 4), encodePacket({ type: 12 }, 4)]),
    );
    const seen = await readUntil(
      client,
      (s) => publishes(s).length === COUNT && s.some((p) => p.type === 13),
    );
    const pingAt = seen.findIndex((p) => p.type === 13);
    // SUBACK, the first chunk, then the PINGRESP: the broker took the PINGREQ before sending the rest.
    assert.equal(seen[0]?.type, 9);
    assert.equal(publishes(seen.slice(0, pingAt)).length, RETAINED_CHUNK);
    const topics = new Set(publishes(seen).map((p) => p.topic));
    assert.equal(topics.size, COUNT);
    assert.ok(publishes(seen).every((p) => p.retain));
    client.disconnect();
  });
});

test('an UNSUBSCRIBE during the retained delivery stops the rest of it', async () => {
  await withBroker({}, async ({ port }) => {
    await storeRetained(port);
    const { client } = await RawClient.connect(port, { clientId: 'quitter' });
    client.send(
      Buffer.concat([
        encodePacket(subscribePacket(1, [['r/#', 0]]), 4),
        encodePacket({ type: 10, packetId: 2, topicFilters: ['r/#'] }, 4),
        encodePacket({ type: 12 }, 4),
      ]),
    );
    const seen = await readUntil(client, (s) => s.some((p) => p.type === 13));
    // Another PINGREQ round trip a few turns later: nothing more came in between.
    client.send({ type: 12 });
    const after = await readUntil(client, (s) => s.some((p) => p.type === 13));
    assert.equal(publishes(seen).length, RETAINED_CHUNK);
    assert.deepEqual(
      after.map((p) => p.type),
      [13],
    );
    client.disconnect();
  });
});

test('a retained message replaced while the delivery runs is not sent after its newer value', async () => {
  await withBroker({}, async ({ port }) => {
    await storeRetained(port);
    const { client } = await RawClient.connect(port, { clientId: 'watcher' });
    // In the same write: the subscription, then a new retained value for every topic (routed to it live).
    const packets = [encodePacket(subscribePacket(1, [['r/#', 0]]), 4)];
    for (let i = 0; i < COUNT; i++)
      packets.push(encodePacket(publishPacket(`r/${i}`, `new ${i}`, 0, 0, { retain: true }), 4));
    packets.push(encodePacket({ type: 12 }, 4));
    client.send(Buffer.concat(packets));
    const got = new Map<string, string[]>();
    const seen = await readUntil(client, (s) => s.some((p) => p.type === 13));
    // Whatever was queued behind the PINGRESP (later chunks) has had time to come after one more round trip.
    client.send({ type: 12 });
    seen.push(...(await readUntil(client, (s) => s.some((p) => p.type === 13))));
    for (const p of publishes(seen)) {
      const list = got.get(p.topic) ?? [];
      list.push(p.payload.toString().split(' ')[0]!);
      got.set(p.topic, list);
    }
    assert.equal(got.size, COUNT);
    for (const [topic, values] of got) {
      // The old value at most before the new one (first chunk), never after it.
      assert.equal(values.at(-1), 'new', `${topic}: ${values.join(',')}`);
      assert.equal(values.filter((v) => v === 'new').length, 1, topic);
    }
    client.disconnect();
  });
});

test('a SUBSCRIBE repeated during the retained delivery starts it over once [MQTT-3.8.4-3], not twice in parallel', async () => {
  await withBroker({}, async ({ port }) => {
    await storeRetained(port);
    const { client } = await RawClient.connect(port, { clientId: 'again' });
    const sub = encodePacket(subscribePacket(1, [['r/#', 0]]), 4);
    client.send(Buffer.concat([sub, sub, encodePacket({ type: 12 }, 4)]));
    const seen = await readUntil(client, (s) => publishes(s).length >= COUNT + RETAINED_CHUNK);
    // Whatever a second, stale delivery would still send has had its turns after one more round trip.
    client.send({ type: 12 });
    seen.push(...(await readUntil(client, (s) => s.filter((p) => p.type === 13).length === 1)));
    // The first chunk of the first delivery, then the whole second one.
    assert.equal(publishes(seen).length, COUNT + RETAINED_CHUNK);
    client.disconnect();
  });
});
