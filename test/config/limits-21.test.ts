// Mosquitto 2.1's broker-wide limits and the broker's own topic aliases (Debian ships 2.0.11: these follow the
// 2.1 manual and mosquitto.conf's words): global_max_connections, global_max_clients, max_topic_alias_broker.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogLevel } from '../../src/broker/logger.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import { parseConfigText } from '../../src/config/parse.js';
import { Broker, type ListenerSpec } from '../../src/index.js';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

async function withBroker(
  options: Partial<BrokerOptions>,
  spec: Partial<ListenerSpec>,
  body: (port: number, lines: string[]) => Promise<void>,
): Promise<void> {
  const lines: string[] = [];
  const logger = { enabled: () => true, log: (level: LogLevel, m: string) => lines.push(`${level}: ${m}`) };
  const broker = new Broker({
    logger,
    options: { connectionMessages: true, allowAnonymous: true, ...options },
  });
  try {
    const [l] = await broker.listen([{ port: 0, host: '127.0.0.1', ...spec }]);
    await body(l!.port, lines);
  } finally {
    await broker.stop();
  }
}

test('2.1 mosquitto.conf: global_max_clients / global_max_connections / max_topic_alias_broker parse', () => {
  const c = parseConfigText(
    'global_max_clients 1000\nglobal_max_connections -1\nmax_topic_alias_broker 3\nlistener 1883\nlistener 1884\nmax_topic_alias_broker 0\n',
    'l.conf',
  );
  assert.equal(c.broker.globalMaxClients, 1000);
  assert.equal(c.broker.globalMaxConnections, -1);
  assert.equal(c.listeners[0]?.maxTopicAliasBroker, 3);
  assert.equal(c.listeners[1]?.maxTopicAliasBroker, 0);
  assert.throws(() => parseConfigText('listener 1883\nmax_topic_alias_broker 65536\n', 'l.conf'));
});

test('2.1 mosquitto.conf: global_max_connections caps connected sockets across the broker', async () => {
  await withBroker({ globalMaxConnections: 2 }, {}, async (port, lines) => {
    const a = await RawClient.open(port);
    await a.handshake({ clientId: 'a' });
    const b = await RawClient.open(port);
    await new Promise((r) => setTimeout(r, 50));
    const c = await RawClient.open(port);
    assert.equal(await c.waitClosed(2000), true, 'the third socket is closed');
    assert.ok(
      lines.some((l) => /Client connection from 127\.0\.0\.1:\d+ denied: max_connections exceeded\./.test(l)),
    );
    b.socket.destroy();
    await b.closed;
    await new Promise((r) => setTimeout(r, 50));
    const d = await RawClient.open(port);
    assert.equal((await d.handshake({ clientId: 'd' })).reasonCode, 0, 'room again once one has gone');
    a.socket.destroy();
    d.socket.destroy();
  });
});

test('2.1 mosquitto.conf: global_max_clients caps sessions; 0x89 for MQTT 5, no CONNACK for 3.1.1', async () => {
  await withBroker({ globalMaxClients: 2 }, {}, async (port) => {
    const a = await RawClient.open(port);
    assert.equal((await a.handshake({ clientId: 'a', version: 5 })).reasonCode, 0);
    // A kept (persistent) session counts too.
    const b = await RawClient.open(port);
    assert.equal((await b.handshake({ clientId: 'b', clean: false })).reasonCode, 0);
    b.socket.destroy();
    await b.closed;
    const c = await RawClient.open(port);
    assert.equal((await c.handshake({ clientId: 'c', version: 5 })).reasonCode, 0x89);
    const d = await RawClient.open(port);
    d.socket.write(
      Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x64]), // CONNECT 3.1.1 "d"
    );
    assert.equal(await d.waitClosed(2000), true);
    assert.equal(d.received.length, 0, 'no CONNACK for 3.1.1');
    // The client's own session does not count against it: b comes back.
    const b2 = await RawClient.open(port);
    assert.equal((await b2.handshake({ clientId: 'b', clean: false })).reasonCode, 0);
    a.socket.destroy();
    b2.socket.destroy();
  });
});

test('2.1 source (property__process_connect): max_topic_alias_broker caps the aliases sent to a client', async () => {
  const aliasesUsed = async (spec: Partial<ListenerSpec>): Promise<number[]> => {
    let used: number[] = [];
    await withBroker({}, spec, async (port) => {
      const sub = await RawClient.open(port);
      await sub.handshake({ clientId: 'sub', version: 5, properties: { topicAliasMaximum: 5 } });
      await subscribe(sub, 1, [['t/#', 0]]);
      const pub = await RawClient.open(port);
      await pub.handshake({ clientId: 'pub', version: 5 });
      for (const t of ['t/1', 't/2', 't/3']) pub.send(publishPacket(t, 'x'));
      const got = (await sub.collect(300, 3)) as PublishPacket[];
      used = got.map((p) => p.properties?.topicAlias ?? 0);
      sub.socket.destroy();
      pub.socket.destroy();
    });
    return used;
  };
  assert.deepEqual(await aliasesUsed({}), [1, 2, 3], 'without the option: up to the client maximum');
  assert.deepEqual(await aliasesUsed({ maxTopicAliasBroker: 1 }), [1, 1, 1]);
  assert.deepEqual(await aliasesUsed({ maxTopicAliasBroker: 0 }), [0, 0, 0]);
});
