// Culex's admin API on the http_api listener (/api/culex/v1/): clients listed, searched, paged and shown in detail,
// kicked (DELETE, logged, MQTT 5 DISCONNECT 0x98), retained messages browsed by filter. Users come from the
// broker's password file; reading needs ACL read on the path, a change ACL write, and without an ACL nobody may
// change anything.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { Broker } from '../../src/index.js';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { startCulexProcess, tempDir } from '../helpers/processes.js';
import { httpRequest } from './http-client.js';
import { addUser, leaveOfflineSession } from './users.js';

interface ClientList {
  total: number;
  offset: number;
  limit: number;
  clients: { client_id: string; username: string | null; connected: boolean }[];
}

test('admin API: list, search, page and show clients, kick one, delete a session, browse retained; roles from the ACL', async () => {
  const dir = tempDir('culex-admin-');
  const pwfile = join(dir, 'pwfile');
  addUser(pwfile, 'admin', 'secret', true);
  addUser(pwfile, 'viewer', 'view');
  addUser(pwfile, 'device', 'dev');
  const acl = join(dir, 'acl');
  writeFileSync(
    acl,
    [
      'user admin',
      'topic readwrite /api/culex/#',
      'user viewer',
      'topic read /api/culex/#',
      'user device',
      'topic readwrite devices/#',
      '',
    ].join('\n'),
  );
  const httpPort = await freePort();
  const broker = await startCulexProcess([
    `password_file ${pwfile}`,
    `acl_file ${acl}`,
    `listener ${httpPort} 127.0.0.1`,
    'protocol http_api',
  ]);
  const viewer = { user: 'viewer', password: 'view' };
  const admin = { user: 'admin', password: 'secret' };
  const device = (clientId: string): Promise<mqtt.MqttClient> =>
    mqtt.connectAsync({
      host: '127.0.0.1',
      port: broker.port,
      clientId,
      username: 'device',
      password: 'dev',
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
  try {
    const d1 = await device('sensor-1');
    const d2 = await device('sensor-2');
    await d1.subscribeAsync('devices/sensor-1/cmd', { qos: 1 });
    await d2.publishAsync('devices/a', 'alpha', { qos: 1, retain: true });
    await d2.publishAsync('devices/b', Buffer.from([0, 1, 2]), { qos: 1, retain: true });

    // What each may do, as the ACL says (write on /api/culex/# makes an admin).
    for (const [who, role] of [
      [admin, 'admin'],
      [viewer, 'read'],
    ] as const) {
      const me = await httpRequest(httpPort, '/api/culex/v1/me', who);
      assert.deepEqual(JSON.parse(me.body), { who: who.user, role });
    }
    const list = JSON.parse(
      (await httpRequest(httpPort, '/api/culex/v1/clients', viewer)).body,
    ) as ClientList;
    assert.equal(list.total, 2);
    assert.deepEqual(list.clients.map((c) => c.client_id).sort(), ['sensor-1', 'sensor-2']);
    assert.ok(list.clients.every((c) => c.connected && c.username === 'device'));
    const paged = JSON.parse(
      (await httpRequest(httpPort, '/api/culex/v1/clients?limit=1&offset=1', viewer)).body,
    ) as ClientList;
    assert.equal(paged.total, 2);
    assert.equal(paged.clients.length, 1);
    const searched = JSON.parse(
      (await httpRequest(httpPort, '/api/culex/v1/clients?search=sor-2', viewer)).body,
    ) as ClientList;
    assert.deepEqual(
      searched.clients.map((c) => c.client_id),
      ['sensor-2'],
    );

    const detail = JSON.parse(
      (await httpRequest(httpPort, '/api/culex/v1/clients/sensor-1', viewer)).body,
    ) as {
      protocol_version: number;
      keepalive: number;
      subscriptions_list: { filter: string; qos: number }[];
    };
    assert.equal(detail.protocol_version, 5);
    assert.equal(detail.keepalive, 60);
    assert.deepEqual(
      detail.subscriptions_list.map((s) => [s.filter, s.qos]),
      [['devices/sensor-1/cmd', 1]],
    );
    assert.equal((await httpRequest(httpPort, '/api/culex/v1/clients/nobody', viewer)).status, 404);

    const retained = JSON.parse(
      (await httpRequest(httpPort, '/api/culex/v1/retained?filter=devices/%23', viewer)).body,
    ) as { total: number; messages: { topic: string; payload_base64: string }[] };
    assert.equal(retained.total, 2);
    const byTopic = new Map(retained.messages.map((m) => [m.topic, Buffer.from(m.payload_base64, 'base64')]));
    assert.equal(byTopic.get('devices/a')?.toString(), 'alpha');
    assert.deepEqual([...(byTopic.get('devices/b') ?? [])], [0, 1, 2]);
    assert.equal((await httpRequest(httpPort, '/api/culex/v1/retained?filter=a/%23/b', viewer)).status, 400);
    // Deleting one: subscribers hear nothing (no empty retained PUBLISH), later subscribers no longer get it.
    let heard = 0;
    d2.on('message', () => heard++);
    await d2.subscribeAsync('devices/a', { qos: 1 });
    assert.ok(await waitFor(() => heard === 1, 2000), 'the retained message on subscribe');
    const topicPath = `/api/culex/v1/retained/${encodeURIComponent('devices/a')}`;
    assert.equal((await httpRequest(httpPort, topicPath, { ...viewer, method: 'DELETE' })).status, 403);
    assert.equal((await httpRequest(httpPort, topicPath, { ...admin, method: 'DELETE' })).status, 200);
    assert.equal((await httpRequest(httpPort, topicPath, { ...admin, method: 'DELETE' })).status, 404);
    const left = JSON.parse(
      (await httpRequest(httpPort, '/api/culex/v1/retained?filter=devices/%23', viewer)).body,
    ) as { total: number };
    assert.equal(left.total, 1);
    await sleep(100);
    assert.equal(heard, 1, 'no message for the deletion');
    assert.ok(
      await waitFor(() => broker.log().includes('deleted the retained message of devices/a.'), 2000),
      broker.log(),
    );

    // The viewer may not kick; a device may not even read; the admin kicks and it is logged.
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/clients/sensor-1', { ...viewer, method: 'DELETE' })).status,
      403,
    );
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/clients', { user: 'device', password: 'dev' })).status,
      403,
    );
    const reason = new Promise<number | undefined>((resolve) =>
      d1.once('disconnect', (p) => resolve(p.reasonCode)),
    );
    const kicked = await httpRequest(httpPort, '/api/culex/v1/clients/sensor-1', {
      ...admin,
      method: 'DELETE',
    });
    assert.equal(kicked.status, 200, kicked.body);
    assert.equal(await reason, 0x98);
    assert.ok(
      await waitFor(
        () => broker.log().includes('HTTP API: admin from 127.0.0.1 disconnected client sensor-1.'),
        2000,
      ),
      broker.log(),
    );
    const after = JSON.parse(
      (await httpRequest(httpPort, '/api/culex/v1/clients', viewer)).body,
    ) as ClientList;
    assert.deepEqual(
      after.clients.map((c) => c.client_id),
      ['sensor-2'],
    );
    // An offline persistent session: deleted by the admin (logged), refused while its client is connected.
    await leaveOfflineSession(
      broker.port,
      'sleeper',
      { username: 'device', password: 'dev' },
      'devices/sleeper/#',
    );
    const conflict = await httpRequest(httpPort, '/api/culex/v1/sessions/sensor-2', {
      ...admin,
      method: 'DELETE',
    });
    assert.equal(conflict.status, 409);
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/sessions/sleeper', { ...viewer, method: 'DELETE' })).status,
      403,
    );
    const deleted = await httpRequest(httpPort, '/api/culex/v1/sessions/sleeper', {
      ...admin,
      method: 'DELETE',
    });
    assert.equal(deleted.status, 200, deleted.body);
    const line = 'HTTP API: admin from 127.0.0.1 deleted the session of client sleeper.';
    assert.ok(await waitFor(() => broker.log().includes(line), 2000), broker.log());
    assert.equal((await httpRequest(httpPort, '/api/culex/v1/clients/sleeper', viewer)).status, 404);
    assert.equal(
      (await httpRequest(httpPort, '/api/culex/v1/sessions/sleeper', { ...admin, method: 'DELETE' })).status,
      404,
    );
    await d1.endAsync(true);
    await d2.endAsync();
  } finally {
    await broker.stop();
  }
});

test('admin API: without an ACL an authenticated user may read but never kick', async () => {
  const broker = new Broker({
    options: { connectionMessages: false, allowAnonymous: false },
    hooks: {
      authenticate: ({ username, password }) => username === 'admin' && password?.toString() === 'secret',
    },
  });
  const [mqttListener, http] = await broker.listen([
    { port: 0, host: '127.0.0.1' },
    { port: 0, host: '127.0.0.1', protocol: 'http_api' },
  ]);
  try {
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: mqttListener!.port,
      clientId: 'c',
      username: 'admin',
      password: 'secret',
      reconnectPeriod: 0,
    });
    const admin = { user: 'admin', password: 'secret' };
    assert.equal((await httpRequest(http!.port, '/api/culex/v1/clients', admin)).status, 200);
    assert.equal((await httpRequest(http!.port, '/api/culex/v1/clients')).status, 401);
    const kick = await httpRequest(http!.port, '/api/culex/v1/clients/c', { ...admin, method: 'DELETE' });
    assert.equal(kick.status, 403);
    assert.equal(client.connected, true);
    // DELETE is the admin API's only method; Mosquitto's endpoints stay GET only.
    assert.equal(
      (await httpRequest(http!.port, '/api/v1/systree', { ...admin, method: 'DELETE' })).status,
      405,
    );
    await client.endAsync();
  } finally {
    await broker.stop();
  }
});
