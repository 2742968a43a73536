// Typed broker events on node:diagnostics_channel (src/broker/diagnostics.ts): what a metrics exporter or a
// tracer subscribes to. Each channel must carry the event with its fields; nothing is published without listeners.

import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import {
  CHANNEL,
  type ClientEvent,
  type DeliverEvent,
  type DropEvent,
  type PublishEvent,
  type SubscriptionEvent,
} from '../../src/broker/diagnostics.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

function listen<T>(name: string): { events: T[]; stop: () => void } {
  const events: T[] = [];
  const onMessage = (message: unknown): void => {
    events.push(message as T);
  };
  diagnosticsChannel.subscribe(name, onMessage);
  return { events, stop: () => diagnosticsChannel.unsubscribe(name, onMessage) };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

test('culex:* diagnostics channels carry connect, subscribe, publish, deliver, unsubscribe, drop and disconnect', async () => {
  const connect = listen<ClientEvent>(CHANNEL.clientConnect);
  const disconnect = listen<ClientEvent>(CHANNEL.clientDisconnect);
  const subs = listen<SubscriptionEvent>(CHANNEL.subscribe);
  const unsubs = listen<SubscriptionEvent>(CHANNEL.unsubscribe);
  const publishes = listen<PublishEvent>(CHANNEL.publish);
  const deliveries = listen<DeliverEvent>(CHANNEL.deliver);
  const drops = listen<DropEvent>(CHANNEL.drop);
  try {
    await withBroker({ options: { maxQueuedMessages: 1 } }, async ({ port }) => {
      const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
      await subscribe(sub, 1, [['m/#', 1]]);
      const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
      pub.send(publishPacket('m/a', 'hello', 1, 7));
      const got = await sub.nextOfType(3);
      assert.equal(got.payload.toString(), 'hello');
      assert.deepEqual(
        connect.events.map((e) => e.client.clientId),
        ['sub', 'pub'],
      );
      assert.deepEqual(
        subs.events.map((e) => [e.client.clientId, e.filter, e.qos]),
        [['sub', 'm/#', 1]],
      );
      const published = publishes.events.find((e) => e.message.topic === 'm/a');
      assert.ok(published !== undefined, 'no culex:publish event');
      assert.equal(published.origin, 'client');
      assert.equal(published.client?.clientId, 'pub');
      assert.equal(published.matched, 1);
      assert.deepEqual(
        deliveries.events.map((e) => [e.clientId, e.message.topic, e.qos, e.packetId]),
        [['sub', 'm/a', 1, got.packetId]],
      );

      // An offline persistent session with a queue of one: the second message is dropped (queue full).
      const { client: away } = await RawClient.connect(port, { clientId: 'away', clean: false });
      await subscribe(away, 1, [
        ['q/#', 1],
        ['u/#', 0],
      ]);
      away.send({ type: 10, packetId: 2, topicFilters: ['u/#'] });
      await away.nextOfType(11);
      assert.deepEqual(
        unsubs.events.map((e) => [e.client.clientId, e.filter, e.qos]),
        [['away', 'u/#', undefined]],
      );
      away.send({ type: 14, reasonCode: 0 });
      await until(() => disconnect.events.some((e) => e.client.clientId === 'away'), 'the disconnect event');
      pub.send(publishPacket('q/1', 'kept', 1, 8));
      pub.send(publishPacket('q/2', 'dropped', 1, 9));
      await until(() => drops.events.length > 0, 'the drop event');
      assert.deepEqual(
        drops.events.map((e) => [e.clientId, e.reason]),
        [['away', 'queueFull']],
      );
      for (const c of [sub, pub]) c.socket.destroy();
    });
  } finally {
    for (const l of [connect, disconnect, subs, unsubs, publishes, deliveries, drops]) l.stop();
  }
});
