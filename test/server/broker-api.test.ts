// The typed control surface of Broker: clients, sessions, subscriptions, retained messages, publish, disconnect,
// listeners, stats and typed events, driven through the public API and checked with the npm mqtt client.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ClientInfo, Message } from '../../src/index.js';
import { Paginator } from '../../src/server/pagination.js';
import { withBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/net.js';

async function connect(
  port: number,
  clientId: string,
  extra: Partial<IClientOptions> = {},
): Promise<MqttClient> {
  const client = mqtt.connect({
    port,
    host: '127.0.0.1',
    clientId,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...extra,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

test('clients and sessions: list, get, online and offline, delete', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const a = await connect(port, 'api-a', { username: 'ann', keepalive: 42 });
    await a.subscribeAsync('x/+', { qos: 1 });
    const b = await connect(port, 'api-b', { clean: false, properties: { sessionExpiryInterval: 300 } });
    await b.subscribeAsync('y/#', { qos: 2 });
    await b.endAsync();
    assert.ok(await waitFor(() => broker.clients.count === 1));

    const client = broker.clients.get('api-a');
    assert.equal(client?.username, 'ann');
    assert.equal(client?.protocolVersion, 5);
    assert.equal(client?.keepAlive, 42);
    assert.equal(client?.remoteAddress.includes('127.0.0.1'), true);
    assert.deepEqual(
      client?.subscriptions.map((s) => [s.filter, s.qos]),
      [['x/+', 1]],
    );
    assert.equal(broker.clients.get('api-b'), undefined, 'offline: not a client');
    assert.deepEqual(
      broker.clients.list().items.map((c) => c.clientId),
      ['api-a'],
    );

    const offline = broker.sessions.list({ state: 'offline' }).items;
    assert.deepEqual(
      offline.map((s) => [s.clientId, s.online, s.expiryInterval]),
      [['api-b', false, 300]],
    );
    assert.deepEqual(
      broker.sessions.list({ state: 'online' }).items.map((s) => s.clientId),
      ['api-a'],
    );
    assert.equal(broker.sessions.get('api-b')?.subscriptions[0]?.filter, 'y/#');
    assert.equal(broker.subscriptions.count, 2);
    assert.deepEqual(
      broker.subscriptions.list({ clientId: 'api-b' }).items.map((s) => s.filter),
      ['y/#'],
    );

    assert.equal(broker.sessions.delete('api-b'), true);
    assert.equal(broker.sessions.has('api-b'), false);
    assert.equal(broker.subscriptions.count, 1, 'its subscriptions left with it');
    assert.equal(broker.sessions.delete('api-b'), false);
    await a.endAsync();
  });
});

test('disconnect(): MQTT 5 DISCONNECT with the reason code, no will unless asked, logged as Mosquitto does', async () => {
  const lines: string[] = [];
  const logger = { enabled: () => true, log: (_l: string, m: string) => lines.push(m) };
  await withBroker({ logger, options: { connectionMessages: true } }, async ({ port, broker }) => {
    const watcher = await connect(port, 'watcher');
    await watcher.subscribeAsync('will/#');
    const wills: string[] = [];
    watcher.on('message', (topic) => wills.push(topic));
    const kicked = await connect(port, 'kicked', {
      will: { topic: 'will/kicked', payload: Buffer.from('x') },
    });
    const reason = new Promise<number | undefined>((resolve) => {
      kicked.once('disconnect', (packet) => resolve(packet.reasonCode));
    });
    assert.equal(broker.disconnect('kicked', { reasonCode: 0x98 }), true);
    assert.equal(await reason, 0x98);
    assert.ok(await waitFor(() => broker.clients.get('kicked') === undefined));
    assert.ok(lines.includes('Client kicked been disconnected by administrative action.'), lines.join('\n'));

    const withWill = await connect(port, 'kicked2', {
      will: { topic: 'will/kicked2', payload: Buffer.from('x') },
    });
    assert.equal(broker.disconnect('kicked2', { withWill: true }), true);
    assert.ok(await waitFor(() => wills.includes('will/kicked2')));
    assert.deepEqual(wills, ['will/kicked2'], 'the first kick sent no will');
    assert.equal(broker.disconnect('nobody'), false);
    withWill.end(true);
    kicked.end(true);
    await watcher.endAsync();
  });
});

test('publish() reaches subscribers; retained messages can be browsed by filter and deleted silently', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const sub = await connect(port, 'sub');
    await sub.subscribeAsync('r/#', { qos: 1 });
    const got: string[] = [];
    sub.on('message', (topic, payload, packet) =>
      got.push(`${topic}=${payload}${packet.retain ? ' R' : ''}`),
    );
    assert.equal(broker.publish({ topic: 'r/1', payload: 'one', qos: 1, retain: true }), 1);
    broker.publish({ topic: 'r/2', payload: Buffer.from('two'), retain: true });
    broker.publish({ topic: 'other/3', payload: 'three', retain: true });
    assert.ok(await waitFor(() => got.length === 2));
    assert.deepEqual(got.sort(), ['r/1=one', 'r/2=two']);
    assert.throws(() => broker.publish({ topic: 'bad/#' }), TypeError);

    assert.equal(broker.retained.count, 3);
    assert.deepEqual(
      broker.retained
        .list({ filter: 'r/+' })
        .items.map((m) => `${m.topic}=${m.payload}`)
        .sort(),
      ['r/1=one', 'r/2=two'],
    );
    assert.equal(broker.retained.get('r/1')?.qos, 1);
    assert.equal(broker.retained.delete('r/1'), true);
    assert.equal(broker.retained.get('r/1'), undefined);
    assert.equal(broker.retained.delete('r/1'), false);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 2, 'deleting a retained message publishes nothing');
    await sub.endAsync();
  });
});

test('typed events, listeners and stats', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const seen: string[] = [];
    broker.on('clientConnected', (c: ClientInfo) => seen.push(`+${c.clientId}`));
    broker.on('subscribe', (c, filter, qos) => seen.push(`s ${c.clientId} ${filter} ${qos}`));
    broker.on('unsubscribe', (c, filter) => seen.push(`u ${c.clientId} ${filter}`));
    const onMessage = (m: Message, c: ClientInfo | null): void => {
      seen.push(`m ${m.topic} ${c?.clientId ?? 'broker'}`);
    };
    broker.on('message', onMessage);
    broker.on('clientDisconnected', (c) => seen.push(`-${c.clientId}`));
    const c = await connect(port, 'ev');
    await c.subscribeAsync('e/1', { qos: 2 });
    await c.publishAsync('e/1', 'x', { qos: 1 });
    broker.publish({ topic: 'e/2' });
    broker.off('message', onMessage);
    broker.publish({ topic: 'e/3' });
    await c.unsubscribeAsync('e/1');
    await c.endAsync();
    assert.ok(await waitFor(() => seen.includes('-ev')));
    assert.deepEqual(seen, ['+ev', 's ev e/1 2', 'm e/1 ev', 'm e/2 broker', 'u ev e/1', '-ev']);

    assert.deepEqual(
      broker.listeners.map((l) => [l.port, l.protocol, l.tls]),
      [[port, 'mqtt', false]],
    );
    const stats = broker.stats;
    assert.equal(stats.messagesReceived, 3);
    assert.equal(stats.sessions, 0);
    assert.equal(stats.clientsConnected, 0);
  });
});

test('pagination: cursors walk a changing list of 100,000 keys, each key looked at once', () => {
  const pages = new Paginator();
  const live = new Map<number, string>();
  for (let i = 0; i < 100_000; i++) live.set(i, `s${i}`);
  let calls = 0;
  const keys = (): number[] => {
    calls++;
    return [...live.keys()];
  };
  let views = 0;
  const view = (k: number): string | undefined => {
    views++;
    return live.get(k);
  };
  let page = pages.page({ limit: 1000 }, keys, view);
  assert.equal(page.items.length, 1000);
  assert.equal(page.total, 100_000);
  live.delete(1000); // gone before its page: skipped, the page still fills up
  let seen = 1000;
  const started = process.hrtime.bigint();
  let n = 1;
  while (page.cursor !== undefined) {
    page = pages.page({ cursor: page.cursor, limit: 1000 }, keys, view);
    seen += page.items.length;
    n++;
  }
  const perPageMs = Number(process.hrtime.bigint() - started) / 1e6 / n;
  assert.equal(seen, 99_999);
  assert.equal(calls, 1, 'later pages slice the first snapshot');
  // No page rescans what earlier pages covered: the cost of a page is its own items (timing is only printed).
  assert.equal(views, 100_000);
  process.stdout.write(`# 100,000 keys: ${n} pages, ${perPageMs.toFixed(3)} ms a page\n`);
  // A cursor already used (or unknown) starts over rather than failing.
  assert.equal(pages.page({ cursor: 'stale', limit: 5 }, keys, (k) => live.get(k)).items[0], 's0');
  assert.equal(pages.page({ limit: 5000 }, keys, (k) => live.get(k)).items.length, 1000, 'capped at 1000');
});
