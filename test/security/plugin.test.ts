// Plugins named in mosquitto.conf: the example plugin with plugin_opt_* options, hook chaining with the
// password file, event handlers, reload with new options, and a broken plugin failing start / reload clearly.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/broker/logger.js';
import { chainHooks } from '../../src/server/hook-chain.js';
import type { LoadedPlugin } from '../../src/server/plugin-loader.js';
import { tempDir } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { connectMqtt, nextMessage, roundTrip, runTool } from '../transport/clients.js';
import { startCli } from './cli-broker.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/plugin/topic-guard.js', import.meta.url));
const skip = requireTool('mosquitto_passwd');

test('example plugin: plugin_opt_users logs in, password file answers for the rest, restricted tree is cut', {
  skip,
  timeout: 60_000,
}, async () => {
  const dir = tempDir('culex-plugin-');
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  await runTool('mosquitto_passwd', ['-b', passwd, 'filed', 'pw']);
  const broker = await startCli(dir, [
    'allow_anonymous false',
    `plugin ${EXAMPLE}`,
    'plugin_opt_users alice:secret,bob:hunter2',
    'plugin_opt_restricted secret/#',
    `password_file ${passwd}`,
  ]);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  try {
    assert.match(broker.log(), /topic-guard loaded: 2 users, restricted tree "secret"/);
    const alice = await connectMqtt(url, { username: 'alice', password: 'secret' });
    await assert.rejects(connectMqtt(url, { username: 'alice', password: 'nope' }));
    // Not a plugin user: the plugin defers, the password file decides.
    const filed = await connectMqtt(url, { username: 'filed', password: 'pw' });
    await assert.rejects(connectMqtt(url, { username: 'stranger', password: 'pw' }));

    assert.equal(await roundTrip(alice, 'open/topic', 'fine'), 'fine');
    await alice.subscribeAsync('#');
    const hidden = nextMessage(alice, 'secret/plans', 700);
    await filed.publishAsync('secret/plans', 'x', { qos: 1 });
    assert.equal(await hidden, undefined);

    // Reload with new options: carol appears, alice's next login fails, alice's live session stays.
    const conf = readFileSync(broker.confPath, 'utf8').replace('alice:secret,bob:hunter2', 'carol:pw3');
    writeFileSync(broker.confPath, conf);
    const outcome = await broker.reload();
    assert.match(outcome, /Config reloaded\./);
    assert.match(outcome, /topic-guard unloaded after \d+ messages/);
    assert.match(outcome, /topic-guard loaded: 1 users/);
    const carol = await connectMqtt(url, { username: 'carol', password: 'pw3' });
    await assert.rejects(connectMqtt(url, { username: 'alice', password: 'secret' }));
    assert.equal(await roundTrip(alice, 'open/again', 'still'), 'still');

    // A plugin that cannot load: the reload fails and the running plugin stays.
    writeFileSync(broker.confPath, conf.replace(EXAMPLE, join(dir, 'missing-plugin.js')));
    assert.match(await broker.reload(), /reload failed.*missing-plugin\.js/);
    const carol2 = await connectMqtt(url, { username: 'carol', password: 'pw3' });
    await Promise.all([alice.endAsync(), filed.endAsync(), carol.endAsync(), carol2.endAsync()]);
  } finally {
    await broker.stop();
  }
});

test('a plugin that throws at start-up stops the broker with its path in the error', async () => {
  const dir = tempDir('culex-plugin-');
  const bad = join(dir, 'bad.mjs');
  writeFileSync(bad, "export default () => { throw new Error('no database'); };\n");
  await assert.rejects(
    startCli(dir, [`plugin ${bad}`]),
    /Unable to load plugin ".*bad\.mjs": initialisation failed: no database/,
  );
  await assert.rejects(
    startCli(dir, ['plugin /usr/lib/mosquitto_auth_plugin.so']),
    /native Mosquitto plugins cannot be loaded/,
  );
});

test('hook chain: first definite answer wins, all abstaining denies, special characters refused', async () => {
  const plugin = (config: Partial<LoadedPlugin['config']>, p: LoadedPlugin['plugin']): LoadedPlugin => ({
    config: { path: 'p.js', options: {}, denySpecialChars: true, ...config },
    plugin: p,
  });
  const abstain = plugin({}, { authenticate: () => undefined, authorize: () => undefined });
  const asyncYes = plugin({}, { authenticate: async () => true });
  const req = { clientId: 'c', username: 'u', password: undefined, remoteAddress: '', listenerPort: 0 };
  const client = {
    clientId: 'c',
    username: 'u',
    protocolVersion: 4 as const,
    remoteAddress: '',
    listenerPort: 0,
  };
  assert.equal(await chainHooks([abstain], {}, silentLogger).authenticate!(req), false);
  assert.equal(await chainHooks([abstain, asyncYes], {}, silentLogger).authenticate!(req), true);
  assert.equal(
    await chainHooks([abstain], { authenticate: () => true }, silentLogger).authenticate!(req),
    true,
  );
  assert.equal(
    await chainHooks([asyncYes], {}, silentLogger).authenticate!({ ...req, username: 'u#' }),
    false,
  );
  assert.equal(chainHooks([abstain], {}, silentLogger).authorize!(client, 'read', 't'), false);
  assert.equal(
    chainHooks([abstain], { authorize: () => true }, silentLogger).authorize!(client, 'read', 't'),
    true,
  );
  assert.equal(chainHooks([], {}, silentLogger).authorize, undefined);
  const thrower = plugin(
    {},
    {
      authorize: () => {
        throw new Error('boom');
      },
    },
  );
  assert.equal(chainHooks([thrower], {}, silentLogger).authorize!(client, 'write', 't'), false);
});
