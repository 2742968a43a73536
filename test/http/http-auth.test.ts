// Access to the HTTP API: nobody in by default (403 saying what to configure, /metrics open), bearer tokens of
// http_api_token_file (read / admin, plain or sha256:, re-read when the file changes), dynamic-security clients
// with http_api_admin_role as admins, http_api_metrics_auth, failed logins limited per address (429 with
// Retry-After), and Mosquitto 2.1's own rule kept for /api/v1/*.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { LOGIN_FAILURES_MAX, LoginLimiter, limitKey } from '../../src/http/login-limiter.js';
import { parseTokens } from '../../src/http/token-file.js';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { CULEX_BIN, tempDir } from '../helpers/processes.js';
import { httpJson, httpRequest } from './http-client.js';
import { startOps } from './ops-broker.js';

const CLIENTS = '/api/culex/v1/clients';

test('nothing configured: the admin API answers 403 with what to configure, /metrics is open, /api/v1 as Mosquitto', async () => {
  for (const anonymous of [false, true]) {
    const ops = await startOps([`allow_anonymous ${anonymous}`]);
    try {
      const closed = await httpRequest(ops.httpPort, CLIENTS);
      assert.equal(closed.status, 403);
      assert.match(closed.headers['content-type'] ?? '', /json/);
      const { error } = JSON.parse(closed.body) as { error: string };
      assert.match(error, /no credentials are configured/);
      assert.match(error, /http_api_token_file/);
      // Even a made-up user gets nowhere.
      assert.equal((await httpRequest(ops.httpPort, CLIENTS, { user: 'root', password: 'x' })).status, 403);
      assert.equal((await httpRequest(ops.httpPort, '/metrics')).status, 200);
      // Mosquitto 2.1: anonymous requests get /api/v1/* when allow_anonymous is true, nothing otherwise.
      const systree = await httpRequest(ops.httpPort, '/api/v1/systree');
      assert.equal(systree.status, anonymous ? 200 : 401);
      if (!anonymous) {
        assert.equal(systree.body, 'Not authorised\n');
        assert.equal(systree.headers['www-authenticate'], 'Basic realm="Mosquitto API"');
      }
    } finally {
      await ops.stop();
    }
  }
});

test('bearer tokens: read looks, admin changes (logged with the token name), sha256: lines, re-read on change', async () => {
  const dir = tempDir('culex-tokens-');
  const file = join(dir, 'tokens');
  const adminToken = 'Adm1n-secret-token-xyz';
  const hashed = createHash('sha256').update(adminToken).digest('hex');
  writeFileSync(file, `sha256:${hashed} admin deployer\nreader-token-0123456789 read\n`);
  const ops = await startOps(['allow_anonymous true'], [`http_api_token_file ${file}`]);
  const { httpPort, mqttPort } = ops;
  try {
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: mqttPort,
      clientId: 'victim',
      reconnectPeriod: 0,
    });
    const list = await httpJson<{ total: number }>(httpPort, CLIENTS, { token: 'reader-token-0123456789' });
    assert.equal(list.total, 1);
    const me = '/api/culex/v1/me';
    assert.deepEqual(await httpJson(httpPort, me, { token: 'reader-token-0123456789' }), {
      who: 'token line 2',
      role: 'read',
    });
    assert.deepEqual(await httpJson(httpPort, me, { token: adminToken }), {
      who: 'token deployer',
      role: 'admin',
    });
    // Anonymous requests do not reach Culex's paths even with allow_anonymous true (no ACL grants them).
    const anonymous = await httpRequest(httpPort, CLIENTS);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="Culex API"');
    const readKick = await httpRequest(httpPort, `${CLIENTS}/victim`, {
      token: 'reader-token-0123456789',
      method: 'DELETE',
    });
    assert.equal(readKick.status, 403);
    assert.match(readKick.body, /read role/);
    const wrong = await httpRequest(httpPort, CLIENTS, { token: `${adminToken}x` });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /Unknown bearer token/);
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const kick = await httpRequest(httpPort, `${CLIENTS}/victim`, { token: adminToken, method: 'DELETE' });
    assert.equal(kick.status, 200, kick.body);
    await gone;
    assert.match(ops.log(), /HTTP API: token deployer from 127\.0\.0\.1 disconnected client victim\./);
    // Tokens also open Mosquitto's endpoints (a Culex addition).
    assert.equal((await httpRequest(httpPort, '/api/v1/listeners', { token: adminToken })).status, 200);
    // The file changes: the old tokens stop working, the new one works, within a second or so.
    writeFileSync(file, 'rotated-token-0123456789 read\n');
    await sleep(1100);
    assert.equal((await httpRequest(httpPort, CLIENTS, { token: 'rotated-token-0123456789' })).status, 200);
    assert.equal((await httpRequest(httpPort, CLIENTS, { token: adminToken })).status, 401);
    // A bad new file is logged and the tokens read before stay.
    writeFileSync(file, 'short read\n');
    await sleep(1100);
    assert.equal((await httpRequest(httpPort, CLIENTS, { token: 'rotated-token-0123456789' })).status, 200);
    assert.match(
      ops.log(),
      /http_api_token_file .*line 1: a token needs at least 16 characters; keeping the tokens/,
    );
  } finally {
    await ops.stop();
  }
});

test('token file lines: roles, names, sha256: digests and bad lines refused with their line number', () => {
  const entries = parseTokens(`# comment\n\nabcdefghijklmnop read\nsha256:${'a'.repeat(64)} admin ci\n`);
  assert.deepEqual(
    entries.map((e) => [e.role, e.name]),
    [
      ['read', 'line 3'],
      ['admin', 'ci'],
    ],
  );
  assert.throws(() => parseTokens('abcdefghijklmnop write\n'), /line 1: the role must be read or admin/);
  assert.throws(() => parseTokens('abcdefghijklmnop!? read\n'), /line 1: a token may hold only letters/);
  assert.throws(() => parseTokens('x\nsha256:abc admin\n'), /line 1:/);
  assert.throws(() => parseTokens('abcdefghijklmnop read\nsha256:abc admin\n'), /line 2: sha256: needs 64/);
});

test('a missing or bad token file stops the start with the reason (exit 1, as for a listener that cannot open)', async () => {
  const dir = tempDir('culex-badtokens-');
  const port = await freePort();
  const bad = join(dir, 'bad');
  writeFileSync(bad, 'too-short admin\n');
  for (const [file, line] of [
    [join(dir, 'missing'), /Error: Unable to open http_api_token_file .*missing: ENOENT/],
    [bad, /Error: http_api_token_file .*bad: line 1: a token needs at least 16 characters/],
  ] as const) {
    const conf = join(dir, 'culex.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nprotocol http_api\nhttp_api_token_file ${file}\n`);
    const run = spawnSync(process.execPath, [CULEX_BIN, '-c', conf], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr + run.stdout, line);
  }
});

test('failed logins: 429 with Retry-After once an address has failed 10 times, whatever it sends then', async () => {
  const dir = tempDir('culex-limit-');
  const file = join(dir, 'tokens');
  writeFileSync(file, 'the-right-token-0123 admin\n');
  const ops = await startOps(['allow_anonymous false'], [`http_api_token_file ${file}`]);
  try {
    for (let i = 0; i < LOGIN_FAILURES_MAX; i++) {
      assert.equal(
        (await httpRequest(ops.httpPort, CLIENTS, { token: `guess-${i}-0123456789` })).status,
        401,
      );
    }
    const limited = await httpRequest(ops.httpPort, CLIENTS, { token: 'the-right-token-0123' });
    assert.equal(limited.status, 429);
    const retry = Number(limited.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${limited.headers['retry-after']}`);
    assert.match(limited.body, /Too many failed logins from 127\.0\.0\.1/);
    // Basic credentials on Mosquitto's paths too; /metrics without credentials stays open.
    assert.equal(
      (await httpRequest(ops.httpPort, '/api/v1/systree', { user: 'a', password: 'b' })).status,
      429,
    );
    assert.equal((await httpRequest(ops.httpPort, '/metrics')).status, 200);
    const metrics = (await httpRequest(ops.httpPort, '/metrics')).body;
    assert.match(metrics, /^culex_auth_failures_total\{source="http"\} 12$/m);
  } finally {
    await ops.stop();
  }
});

test('the login limiter forgets windows that ended and keeps at most its bound of addresses', () => {
  const limiter = new LoginLimiter(3, 1000, 100);
  for (let i = 0; i < 3; i++) limiter.failed('a', 0);
  assert.equal(limiter.retryAfter('a', 10), 1);
  assert.equal(limiter.retryAfter('a', 1000), 0);
  for (let i = 0; i < 10_000; i++) limiter.failed(`10.0.${i >> 8}.${i & 255}`, 5);
  assert.equal(limiter.tracked, 100);
  // IPv6 hosts are counted by their /64; IPv4 as itself, mapped or not.
  assert.equal(limitKey('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.equal(limitKey('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd'), '2001:db8:0:1::/64');
  assert.equal(limitKey('::1'), '0:0:0:0::/64');
  assert.equal(limitKey('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(limitKey('127.0.0.1'), '127.0.0.1');
  for (let i = 0; i < 3; i++) limiter.failed(`2001:db8::${i + 1}`, 0);
  assert.equal(limiter.retryAfter('2001:db8::ffff', 10), 1);
});

test('http_api_metrics_auth true: /metrics needs a token or a user', async () => {
  const dir = tempDir('culex-mauth-');
  const file = join(dir, 'tokens');
  writeFileSync(file, 'prometheus-token-0123 read\n');
  const ops = await startOps(
    ['allow_anonymous true'],
    [`http_api_token_file ${file}`, 'http_api_metrics_auth true'],
  );
  try {
    assert.equal((await httpRequest(ops.httpPort, '/metrics')).status, 401);
    const scraped = await httpRequest(ops.httpPort, '/metrics', { token: 'prometheus-token-0123' });
    assert.equal(scraped.status, 200);
    assert.match(scraped.body, /^culex_build_info/m);
  } finally {
    await ops.stop();
  }
});

test('dynamic security: clients with http_api_admin_role are admins, others may only read', async () => {
  const dir = tempDir('culex-dynsec-http-');
  const init = join(dir, 'init');
  writeFileSync(init, 'first-password\n');
  const ops = await startOps(
    [
      'allow_anonymous false',
      'plugin culex:dynamic-security',
      `plugin_opt_config_file ${join(dir, 'dynsec.json')}`,
      `plugin_opt_password_init_file ${init}`,
    ],
    ['http_api_admin_role operators'],
  );
  const { httpPort, mqttPort } = ops;
  try {
    // Mosquitto 2.1's first-run admin (role super-admin, not this listener's admin role) sets up two users.
    const admin = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: mqttPort,
      username: 'admin',
      password: 'first-password',
      reconnectPeriod: 0,
    });
    await admin.subscribeAsync('$CONTROL/dynamic-security/v1/response');
    const answered = new Promise<string>((resolve) =>
      admin.once('message', (_t, p) => resolve(p.toString())),
    );
    const commands = [
      { command: 'createRole', rolename: 'operators' },
      { command: 'createGroup', groupname: 'ops' },
      { command: 'addGroupRole', groupname: 'ops', rolename: 'operators' },
      { command: 'createClient', username: 'boss', password: 'boss-pw' },
      { command: 'addGroupClient', groupname: 'ops', username: 'boss' },
      { command: 'createClient', username: 'viewer', password: 'viewer-pw' },
    ];
    await admin.publishAsync('$CONTROL/dynamic-security/v1', JSON.stringify({ commands }));
    assert.doesNotMatch(await answered, /"error"/);
    const target = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: mqttPort,
      clientId: 'target',
      username: 'viewer',
      password: 'viewer-pw',
      reconnectPeriod: 0,
    });
    const viewer = { user: 'viewer', password: 'viewer-pw' };
    assert.equal((await httpRequest(httpPort, CLIENTS, viewer)).status, 200);
    const me = '/api/culex/v1/me';
    assert.deepEqual(await httpJson(httpPort, me, viewer), { who: 'viewer', role: 'read' });
    assert.deepEqual(await httpJson(httpPort, me, { user: 'boss', password: 'boss-pw' }), {
      who: 'boss',
      role: 'admin',
    });
    const refused = await httpRequest(httpPort, `${CLIENTS}/target`, { ...viewer, method: 'DELETE' });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /dynamic-security role \\"operators\\"/);
    assert.equal((await httpRequest(httpPort, CLIENTS, { user: 'boss', password: 'nope' })).status, 401);
    const kicked = await httpRequest(httpPort, `${CLIENTS}/target`, {
      user: 'boss',
      password: 'boss-pw',
      method: 'DELETE',
    });
    assert.equal(kicked.status, 200, kicked.body);
    assert.ok(await waitFor(() => !target.connected, 2000));
    assert.match(ops.log(), /HTTP API: boss from 127\.0\.0\.1 disconnected client target\./);
    await admin.endAsync();
  } finally {
    await ops.stop();
  }
});
