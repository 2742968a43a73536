// `listener PORT` + `protocol http_api` with Mosquitto 2.1's endpoints and answers (its test/broker/
// 01-http-api*.py cases): GET only, /api/v1/listeners, /api/v1/systree, /api/v1/version, 404s, http_dir files,
// and access through the listener's authentication and ACL.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { Broker } from '../../src/index.js';
import { freePort, waitFor } from '../helpers/net.js';
import { CULEX_BIN, launchWith, startCulexProcess, tempDir } from '../helpers/processes.js';
import { httpRequest } from './http-client.js';

const PASSWD_BIN = fileURLToPath(new URL('../../../bin/culex-passwd.js', import.meta.url));

/** Mosquitto 2.1's systree keys (packet/out/count has no Culex equivalent); heap/* as with its memory tracking. */
const SYSTREE_KEYS = [
  'clients/total',
  'clients/maximum',
  'clients/disconnected',
  'clients/connected',
  'clients/expired',
  'messages/stored',
  'store/messages/bytes',
  'subscriptions/count',
  'shared_subscriptions/count',
  'retained messages/count',
  'heap/current',
  'heap/maximum',
  'messages/received',
  'messages/sent',
  'bytes/received',
  'bytes/sent',
  'publish/bytes/received',
  'publish/bytes/sent',
  'packet/out/bytes',
  'connections/socket/count',
  'publish/messages/dropped',
  'publish/messages/received',
  'publish/messages/sent',
  'uptime',
].map((k) => `$SYS/broker/${k}`);

async function apiBroker(httpDir?: string): Promise<{ broker: Broker; mqttPort: number; httpPort: number }> {
  const broker = new Broker({ options: { connectionMessages: false, allowAnonymous: true } });
  const [mqttListener, httpListener] = await broker.listen([
    { port: 0, host: '127.0.0.1' },
    { port: 0, host: '127.0.0.1', protocol: 'http_api', ...(httpDir === undefined ? {} : { httpDir }) },
  ]);
  return { broker, mqttPort: mqttListener!.port, httpPort: httpListener!.port };
}

test('http_api: methods, unknown paths, listeners, systree and version as Mosquitto 2.1 answers them', async () => {
  const { broker, mqttPort, httpPort } = await apiBroker();
  try {
    const post = await httpRequest(httpPort, '/api/badrequest', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.body, 'Invalid HTTP Method\n');
    const missing = await httpRequest(httpPort, '/api/missing');
    assert.equal(missing.status, 404);
    assert.equal(missing.body, 'Not found.\n');

    const listeners = await httpRequest(httpPort, '/api/v1/listeners');
    assert.equal(listeners.status, 200);
    assert.equal(listeners.headers['access-control-allow-origin'], '*');
    assert.deepEqual(JSON.parse(listeners.body), {
      listeners: [
        { port: mqttPort, protocol: 'mqtt', tls: false, mtls: false, allow_anonymous: true },
        { port: httpPort, protocol: 'httpapi', tls: false, mtls: false, allow_anonymous: true },
      ],
    });

    // Traffic the systree must show: a client with a retained message and a shared subscription.
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: mqttPort,
      clientId: 'c1',
      reconnectPeriod: 0,
    });
    await client.subscribeAsync('$share/g/t/#', { qos: 1 });
    await client.publishAsync('t/r', '123456', { qos: 1, retain: true });
    const tree = JSON.parse((await httpRequest(httpPort, '/api/v1/systree')).body) as Record<string, number>;
    assert.deepEqual(Object.keys(tree), SYSTREE_KEYS);
    for (const [key, value] of Object.entries(tree)) assert.ok(Number.isInteger(value), `${key}: ${value}`);
    assert.equal(tree['$SYS/broker/clients/connected'], 1);
    assert.equal(tree['$SYS/broker/clients/total'], 1);
    assert.equal(tree['$SYS/broker/shared_subscriptions/count'], 1);
    assert.equal(tree['$SYS/broker/subscriptions/count'], 0);
    assert.equal(tree['$SYS/broker/retained messages/count'], 1);
    assert.equal(tree['$SYS/broker/publish/bytes/received'], 6);
    assert.equal(tree['$SYS/broker/publish/bytes/sent'], 6);
    assert.equal(tree['$SYS/broker/store/messages/bytes'], 6);
    assert.equal(tree['$SYS/broker/connections/socket/count'], 1);
    assert.ok(tree['$SYS/broker/bytes/received']! > 0 && tree['$SYS/broker/bytes/sent']! > 0);
    await client.endAsync();

    const version = await httpRequest(httpPort, '/api/v1/version');
    assert.equal(version.status, 200);
    assert.match(version.body, /^\d+\.\d+\.\d+/);
    // The API prefix is matched case-insensitively, the endpoints exactly.
    assert.equal((await httpRequest(httpPort, '/API/v1/version')).status, 404);
  } finally {
    await broker.stop();
  }
});

test('http_api: http_dir files, index.html for a directory, nothing outside it', async () => {
  const dir = tempDir('culex-http-dir-');
  mkdirSync(join(dir, 'www'));
  writeFileSync(join(dir, 'www/index.html'), '<h1>culex</h1>');
  writeFileSync(join(dir, 'www/app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  const { broker, httpPort } = await apiBroker(join(dir, 'www'));
  try {
    assert.equal((await httpRequest(httpPort, '/')).body, '<h1>culex</h1>');
    assert.equal((await httpRequest(httpPort, '/app.js')).body, 'console.log(1)');
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/nope.html']) {
      const answer = await httpRequest(httpPort, path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.body, 'Not found.\n');
    }
  } finally {
    await broker.stop();
  }
});

test('http_api from mosquitto.conf: basic auth against the password file, then the ACL per path', async () => {
  const dir = tempDir('culex-http-auth-');
  const httpPort = await freePort();
  const pwfile = join(dir, 'pwfile');
  const made = spawnSync(process.execPath, [PASSWD_BIN, '-c', '-b', pwfile, 'admin', 'secret']);
  assert.equal(made.status, 0, String(made.stderr));
  const www = join(dir, 'www');
  mkdirSync(www);
  const acl = join(dir, 'acl');
  // Anonymous may read the version only (Mosquitto's 01-http-api-unauthorised case); admin reads all.
  writeFileSync(acl, 'topic read /api/v1/version\n\nuser admin\ntopic read #\ntopic read /#\n');
  const broker = await startCulexProcess([
    'allow_anonymous true',
    `password_file ${pwfile}`,
    `acl_file ${acl}`,
    `listener ${httpPort} 127.0.0.1`,
    'protocol http_api',
    `http_dir ${www}`,
  ]);
  try {
    const opened = `Opening http api listen socket on port ${httpPort}.`;
    assert.ok(await waitFor(() => broker.log().includes('running'), 3000), broker.log());
    assert.ok(broker.log().includes(opened), broker.log());
    assert.ok(broker.log().includes(`Using http_dir ${www}`), broker.log());
    const anonymous = await httpRequest(httpPort, '/api/v1/systree');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body, 'Not authorised\n');
    assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="Mosquitto API"');
    assert.equal((await httpRequest(httpPort, '/api/v1/version')).status, 200);
    const wrong = await httpRequest(httpPort, '/api/v1/systree', { user: 'admin', password: 'guess' });
    assert.equal(wrong.status, 401);
    const admin = await httpRequest(httpPort, '/api/v1/systree', { user: 'admin', password: 'secret' });
    assert.equal(admin.status, 200);
    assert.ok('$SYS/broker/uptime' in (JSON.parse(admin.body) as object));
    const metrics = await httpRequest(httpPort, '/metrics', { user: 'admin', password: 'secret' });
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^culex_auth_failures_total\{source="http"\} 2$/m);
  } finally {
    await broker.stop();
  }
});

test('http_api: wrong passwords wait as auth_failure_delay makes MQTT logins wait; a right one does not', async () => {
  const broker = new Broker({
    options: {
      connectionMessages: false,
      allowAnonymous: false,
      authFailureDelay: 300,
      authFailureDelayMax: 2000,
    },
    hooks: {
      authenticate: ({ username, password }) => username === 'admin' && password?.toString() === 'secret',
    },
  });
  const [, http] = await broker.listen([
    { port: 0, host: '127.0.0.1' },
    { port: 0, host: '127.0.0.1', protocol: 'http_api' },
  ]);
  const timed = async (password: string): Promise<[number, number]> => {
    const started = Date.now();
    const { status } = await httpRequest(http!.port, '/api/v1/version', { user: 'admin', password });
    return [status, Date.now() - started];
  };
  try {
    const [first, firstMs] = await timed('guess1');
    const [second, secondMs] = await timed('guess2');
    assert.deepEqual([first, second], [401, 401]);
    assert.ok(firstMs >= 280, `first refusal after ${firstMs} ms`);
    assert.ok(secondMs >= 580, `second refusal after ${secondMs} ms (doubled)`);
    const [ok, okMs] = await timed('secret');
    assert.equal(ok, 200);
    assert.ok(okMs < 250, `right password answered after ${okMs} ms`);
  } finally {
    await broker.stop();
  }
});

test('http_api: /metrics open to Prometheus without credentials through per-listener settings, the rest not', async () => {
  const dir = tempDir('culex-http-open-metrics-');
  const pwfile = join(dir, 'pwfile');
  const made = spawnSync(process.execPath, [PASSWD_BIN, '-c', '-b', pwfile, 'admin', 'secret']);
  assert.equal(made.status, 0, String(made.stderr));
  const acl = join(dir, 'http.acl');
  writeFileSync(acl, 'topic read /metrics\n\nuser admin\ntopic read /#\n');
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'culex.conf');
  writeFileSync(
    conf,
    [
      'per_listener_settings true',
      `listener ${mqttPort} 127.0.0.1`,
      `password_file ${pwfile}`,
      `listener ${httpPort} 127.0.0.1`,
      'protocol http_api',
      'allow_anonymous true',
      `acl_file ${acl}`,
      `password_file ${pwfile}`,
      '',
    ].join('\n'),
  );
  const broker = await launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c], conf, mqttPort);
  try {
    assert.ok(await waitFor(() => broker.log().includes('running'), 3000), broker.log());
    assert.equal((await httpRequest(httpPort, '/metrics')).status, 200);
    assert.equal((await httpRequest(httpPort, '/api/v1/systree')).status, 401);
    assert.equal(
      (await httpRequest(httpPort, '/api/v1/systree', { user: 'admin', password: 'secret' })).status,
      200,
    );
    // The MQTT listener keeps its own rule: no anonymous clients there.
    await assert.rejects(mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, reconnectPeriod: 0 }));
  } finally {
    await broker.stop();
  }
});
