// The admin API's operations beyond clients: sessions online and offline (paged, one shown), a session's queue
// purged, subscriptions across clients by filter / topic / client, listeners, and bridges (state, counters,
// stop and start, with culex_bridge_* on /metrics), each change logged; read tokens may look, not change.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { startBroker } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { httpJson, httpRequest } from './http-client.js';
import { startOps } from './ops-broker.js';

const ADMIN = { token: 'admin-token-0123456789' };
const READER = { token: 'read-token-0123456789' };

function tokenFile(): string {
  const file = join(tempDir('culex-ops-'), 'tokens');
  writeFileSync(file, `# tokens\n${ADMIN.token} admin ops\n${READER.token} read grafana\n`);
  return file;
}

interface PageHead {
  total: number;
  offset: number;
  limit: number;
}

type SessionsPage = PageHead & {
  sessions: { client_id: string; online: boolean; queued: number; expires_at: string | null }[];
};
type SubscriptionsPage = { total: number; subscriptions: { client_id: string; filter: string }[] };

function persistent(port: number, clientId: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync({
    host: '127.0.0.1',
    port,
    clientId,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 0,
  });
}

test('admin API: sessions paged with offline ones, a queue purged, subscriptions across clients, listeners', async () => {
  const ops = await startOps(['allow_anonymous true'], [`http_api_token_file ${tokenFile()}`]);
  const { mqttPort, httpPort } = ops;
  try {
    for (const [id, filter] of [
      ['s1', 'sensors/+/temp'],
      ['s2', 'sensors/a'],
      ['s3', 'other/x'],
    ] as const) {
      const c = await persistent(mqttPort, id);
      await c.subscribeAsync(filter, { qos: 1 });
      await c.endAsync();
    }
    const online = await persistent(mqttPort, 'live');
    await online.subscribeAsync('$share/g/sensors/#', { qos: 1 });
    const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, reconnectPeriod: 0 });
    for (let i = 0; i < 5; i++) await pub.publishAsync('sensors/a/temp', `t${i}`, { qos: 1 });

    const offline = await httpJson<SessionsPage>(
      httpPort,
      '/api/culex/v1/sessions?state=offline&limit=2',
      READER,
    );
    assert.equal(offline.total, 3);
    assert.equal(offline.sessions.length, 2);
    assert.ok(offline.sessions.every((s) => !s.online && s.expires_at !== null));
    const rest = await httpJson<SessionsPage>(
      httpPort,
      '/api/culex/v1/sessions?state=offline&limit=2&offset=2',
      READER,
    );
    assert.equal(rest.sessions.length, 1);
    const all = await httpJson<SessionsPage>(httpPort, '/api/culex/v1/sessions', READER);
    // The publisher's clean session is there too while it is connected.
    assert.deepEqual(
      all.sessions.map((s) => s.client_id).sort(),
      ['live', pub.options.clientId, 's1', 's2', 's3'].sort(),
    );
    const onlineOnly = await httpJson<SessionsPage>(httpPort, '/api/culex/v1/sessions?state=online', READER);
    assert.equal(onlineOnly.total, 2);
    assert.equal((await httpRequest(httpPort, '/api/culex/v1/sessions?state=later', READER)).status, 400);

    const s1 = await httpJson<{ queued: number; subscriptions_list: { filter: string }[] }>(
      httpPort,
      '/api/culex/v1/sessions/s1',
      READER,
    );
    assert.equal(s1.queued, 5);
    assert.deepEqual(
      s1.subscriptions_list.map((s) => s.filter),
      ['sensors/+/temp'],
    );
    const queuePath = '/api/culex/v1/sessions/s1/queue';
    const denied = await httpRequest(httpPort, queuePath, { ...READER, method: 'DELETE' });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /admin role/);
    const purged = await httpJson<{ messages: number }>(httpPort, queuePath, { ...ADMIN, method: 'DELETE' });
    assert.equal(purged.messages, 5);
    assert.match(
      ops.log(),
      /HTTP API: token ops from 127\.0\.0\.1 purged the queue of client s1 \(5 messages\)\./,
    );
    assert.equal(
      (await httpJson<{ queued: number }>(httpPort, '/api/culex/v1/sessions/s1', READER)).queued,
      0,
    );
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/sessions/zz/queue', { ...ADMIN, method: 'DELETE' })).status,
      404,
    );
    // The client comes back to an empty queue.
    const back = await persistent(mqttPort, 's1');
    let got = 0;
    back.on('message', () => got++);
    await sleep(200);
    assert.equal(got, 0);
    await back.endAsync();

    const covered = await httpJson<SubscriptionsPage>(
      httpPort,
      '/api/culex/v1/subscriptions?filter=sensors/%23',
      READER,
    );
    assert.deepEqual(covered.subscriptions.map((s) => `${s.client_id} ${s.filter}`).sort(), [
      'live $share/g/sensors/#',
      's1 sensors/+/temp',
      's2 sensors/a',
    ]);
    const reached = await httpJson<SubscriptionsPage>(
      httpPort,
      '/api/culex/v1/subscriptions?topic=sensors/a/temp',
      READER,
    );
    assert.deepEqual(reached.subscriptions.map((s) => s.client_id).sort(), ['live', 's1']);
    const one = await httpJson<SubscriptionsPage>(
      httpPort,
      '/api/culex/v1/subscriptions?client_id=s3',
      READER,
    );
    assert.deepEqual(
      one.subscriptions.map((s) => s.filter),
      ['other/x'],
    );
    const paged = await httpJson<SubscriptionsPage>(
      httpPort,
      '/api/culex/v1/subscriptions?limit=1&offset=3',
      READER,
    );
    assert.equal(paged.total, 4);
    assert.equal(paged.subscriptions.length, 1);
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/subscriptions?filter=a/%23/b', READER)).status,
      400,
    );

    const listeners = await httpJson<{
      listeners: { port: number; protocol: string; connections: number | null }[];
    }>(httpPort, '/api/culex/v1/listeners', READER);
    assert.deepEqual(
      listeners.listeners.map((l) => [l.port, l.protocol, l.connections]),
      [
        [mqttPort, 'mqtt', 2],
        [httpPort, 'http_api', null],
      ],
    );
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/listeners', { ...ADMIN, method: 'POST' })).status,
      405,
    );
    await online.endAsync();
    await pub.endAsync();
  } finally {
    await ops.stop();
  }
});

test('admin API: bridges listed with state and counters, stopped and started (logged), culex_bridge_* metrics', async () => {
  const remote = await startBroker();
  const ops = await startOps(
    ['allow_anonymous true'],
    [`http_api_token_file ${tokenFile()}`],
    ['connection edge', `address 127.0.0.1:${remote.port}`, 'restart_timeout 1', 'topic up/# out 1'],
  );
  const { mqttPort, httpPort } = ops;
  type Bridge = { name: string; state: string; connects: number; messages_out: number };
  const bridge = (): Promise<Bridge> => httpJson<Bridge>(httpPort, '/api/culex/v1/bridges/edge', READER);
  const metric = async (name: string): Promise<number> => {
    const text = (await httpRequest(httpPort, '/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(`${name}{bridge="edge"}`));
    return Number(line?.split(' ')[1]);
  };
  try {
    assert.ok(await waitFor(() => ops.broker.internals.sessions.size > 0, 3000));
    let up = false;
    for (let i = 0; i < 50 && !up; i++) {
      up = (await bridge()).state === 'up';
      if (!up) await sleep(50);
    }
    assert.ok(up, 'the bridge comes up');
    const far = await mqtt.connectAsync({ host: '127.0.0.1', port: remote.port, reconnectPeriod: 0 });
    await far.subscribeAsync('up/#', { qos: 1 });
    const arrived = new Promise<void>((resolve) => far.once('message', () => resolve()));
    const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, reconnectPeriod: 0 });
    await pub.publishAsync('up/1', 'x', { qos: 1 });
    await arrived;
    const list = await httpJson<{ bridges: Bridge[] }>(httpPort, '/api/culex/v1/bridges', READER);
    assert.deepEqual(
      list.bridges.map((b) => [b.name, b.state, b.connects, b.messages_out]),
      [['edge', 'up', 1, 1]],
    );
    assert.equal(await metric('culex_bridge_up'), 1);
    assert.equal(await metric('culex_bridge_messages_sent_total'), 1);
    assert.equal(await metric('culex_bridge_connects_total'), 1);

    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/bridges/edge/stop', { ...READER, method: 'POST' })).status,
      403,
    );
    const stopped = await httpJson<Bridge>(httpPort, '/api/culex/v1/bridges/edge/stop', {
      ...ADMIN,
      method: 'POST',
    });
    assert.equal(stopped.state, 'stopped');
    assert.match(ops.log(), /HTTP API: token ops from 127\.0\.0\.1 stopped bridge edge\./);
    assert.equal(await metric('culex_bridge_up'), 0);
    await sleep(1200);
    assert.equal((await bridge()).state, 'stopped', 'a stopped bridge stays down past its restart_timeout');
    await httpJson<Bridge>(httpPort, '/api/culex/v1/bridges/edge/start', { ...ADMIN, method: 'POST' });
    assert.match(ops.log(), /HTTP API: token ops from 127\.0\.0\.1 started bridge edge\./);
    up = false;
    for (let i = 0; i < 50 && !up; i++) {
      up = (await bridge()).state === 'up';
      if (!up) await sleep(50);
    }
    assert.ok(up, 'the bridge comes up again');
    assert.equal(await metric('culex_bridge_connects_total'), 2);
    assert.equal(await metric('culex_bridge_up'), 1);

    assert.equal((await httpRequest(httpPort, '/api/culex/v1/bridges/nope', READER)).status, 404);
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/bridges/nope/stop', { ...ADMIN, method: 'POST' })).status,
      404,
    );
    assert.equal((await httpRequest(httpPort, '/api/culex/v1/bridges/edge/stop', ADMIN)).status, 405);
    await far.endAsync();
    await pub.endAsync();
  } finally {
    await ops.stop();
    await remote.stop();
  }
});
