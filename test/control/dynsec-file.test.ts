// The dynsec JSON file moves between the brokers both ways (hashes Culex writes log in under Mosquitto and the
// reverse), and Culex's own start-up cases: the `culex:dynamic-security` name, a missing file (Mosquitto
// 2.0.11: logged, empty configuration), a missing plugin_opt_config_file, and `$CONTROL` wills refused.

import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../helpers/net.js';
import { startFromConf, tempDir, writeConf } from '../helpers/processes.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';
import { startCli } from '../security/cli-broker.js';
import { DYNSEC_SO, oracleSkip } from './dynsec-fixture.js';

const CONTROL = '$CONTROL/dynamic-security/v1';

async function connack(
  port: number,
  o: Parameters<RawClient['handshake']>[0],
): Promise<{ code: number; c: RawClient }> {
  const c = await RawClient.open(port);
  c.version = 5;
  const ack = (await c.handshake({ version: 5, ...o })) as unknown as { reasonCode: number };
  return { code: ack.reasonCode, c };
}

/** Sends commands as admin on `port` and waits for the response. */
async function command(port: number, commands: unknown[], password = 'adminpw'): Promise<string> {
  const { c } = await connack(port, { username: 'admin', password, clientId: 'adm' });
  await subscribe(c, 1, [[`${CONTROL}/response`, 0]]);
  c.send(publishPacket(CONTROL, JSON.stringify({ commands }), 0));
  const p = await c.nextOfType(3);
  c.disconnect();
  return p.payload.toString();
}

const setUp = [
  {
    command: 'createRole',
    rolename: 'w',
    acls: [{ acltype: 'publishClientSend', topic: 'w/#', allow: true }],
  },
];

async function brokerOn(kind: 'mosquitto' | 'culex', dir: string, file: string, plugin = DYNSEC_SO) {
  const port = await freePort();
  const conf = writeConf(dir, port, [`plugin ${plugin}`, `plugin_opt_config_file ${file}`]);
  return startFromConf(kind, conf, port);
}

test('the dynsec file moves both ways: users created by either broker log in and publish under the other', {
  skip: oracleSkip('mosquitto_ctrl'),
  timeout: 60_000,
}, async () => {
  const dir = tempDir('culex-dynsec-file-');
  chmodSync(dir, 0o777);
  const file = join(dir, 'dynsec.json');
  assert.equal((await run('mosquitto_ctrl', ['dynsec', 'init', file, 'admin', 'adminpw'])).status, 0);
  chmodSync(file, 0o666);
  for (const [maker, user] of [
    ['culex', 'by-culex'],
    ['mosquitto', 'by-mosquitto'],
  ] as const) {
    const broker = await brokerOn(maker, dir, file);
    try {
      const made = await command(broker.port, [
        ...setUp,
        { command: 'createClient', username: user, password: 'secret', roles: [{ rolename: 'w' }] },
      ]);
      assert.match(made, /"command":"createClient"}/, `${maker}: ${made}`);
      // Both save as the plugin does: the whole file again, through FILE.new.
      assert.match(readFileSync(file, 'utf8'), new RegExp(`"username":\t"${user}"`), broker.log());
    } finally {
      await broker.stop();
    }
  }
  for (const kind of ['culex', 'mosquitto'] as const) {
    const copy = join(dir, `${kind}-copy.json`);
    copyFileSync(file, copy);
    chmodSync(copy, 0o666);
    const broker = await brokerOn(kind, dir, copy);
    try {
      for (const user of ['by-culex', 'by-mosquitto']) {
        const { code, c } = await connack(broker.port, {
          username: user,
          password: 'secret',
          clientId: user,
        });
        assert.equal(code, 0, `${user} logs in under ${kind}`);
        c.send(publishPacket('w/x', 'ok', 1, 1));
        const ack = (await c.nextOfType(4)) as unknown as { reasonCode: number };
        assert.ok(ack.reasonCode < 0x80, `${user} may publish under ${kind}`);
        c.disconnect();
        const bad = await connack(broker.port, { username: user, password: 'wrong', clientId: `${user}-2` });
        assert.notEqual(bad.code, 0);
        bad.c.destroy();
      }
    } finally {
      await broker.stop();
    }
  }
});

test('culex:dynamic-security names the built-in plugin; a missing file is logged and left empty as 2.0.11 does', async () => {
  const dir = tempDir('culex-dynsec-');
  const file = join(dir, 'absent.json');
  const broker = await startCli(dir, [
    'allow_anonymous true',
    'plugin culex:dynamic-security',
    `plugin_opt_config_file ${file}`,
  ]);
  try {
    assert.match(broker.log(), /Config loaded from .*\n.*Loading plugin: culex:dynamic-security\n/);
    assert.match(
      broker.log(),
      /Error loading Dynamic security plugin config: File is not readable - check permissions\./,
    );
    assert.equal(existsSync(file), false);
    // Nobody is known: a login with a username is refused, an anonymous client has no rights at all.
    const named = await connack(broker.port, { username: 'admin', password: 'x', clientId: 'a' });
    assert.notEqual(named.code, 0);
    named.c.destroy();
    const anon = await connack(broker.port, { clientId: 'anon' });
    assert.equal(anon.code, 0);
    assert.deepEqual(await subscribe(anon.c, 1, [['t', 0]]), [0x87]);
    anon.c.disconnect();
  } finally {
    await broker.stop();
  }
});

test('without plugin_opt_config_file the plugin warns and stays inactive', async () => {
  const dir = tempDir('culex-dynsec-');
  const broker = await startCli(dir, ['allow_anonymous true', `plugin ${DYNSEC_SO}`]);
  try {
    assert.match(
      broker.log(),
      /Warning: Dynamic security plugin has no plugin_opt_config_file defined\. The plugin will not be activated\./,
    );
  } finally {
    await broker.stop();
  }
});

test('a CONNECT whose will is on a $CONTROL topic is refused (0x87); other wills are accepted', async () => {
  const dir = tempDir('culex-dynsec-');
  const file = join(dir, 'dynsec.json');
  writeFileSync(
    file,
    JSON.stringify({ defaultACLAccess: { publishClientSend: true }, clients: [], groups: [], roles: [] }),
  );
  const broker = await startCli(dir, [
    'allow_anonymous true',
    'plugin culex:dynamic-security',
    `plugin_opt_config_file ${file}`,
  ]);
  try {
    const bad = await connack(broker.port, { clientId: 'w1', will: { topic: `${CONTROL}` } });
    assert.equal(bad.code, 0x87);
    assert.equal(await bad.c.waitClosed(), true);
    const ok = await connack(broker.port, { clientId: 'w2', will: { topic: 'plain/will' } });
    assert.equal(ok.code, 0);
    ok.c.disconnect();
    assert.equal(readFileSync(file, 'utf8').length > 0, true);
  } finally {
    await broker.stop();
  }
});

test('2.1 first run: a missing file is generated with an admin whose password comes from plugin_opt_password_init_file', async () => {
  const dir = tempDir('culex-dynsec-');
  const file = join(dir, 'generated.json');
  const pwFile = join(dir, 'admin.pw');
  writeFileSync(pwFile, 'initial-secret-1  \nignored second line\n');
  const broker = await startCli(dir, [
    // Started as root, the broker would switch to `mosquitto` first and could not write into this root-owned dir.
    'user root',
    'allow_anonymous false',
    'plugin culex:dynamic-security',
    `plugin_opt_config_file ${file}`,
    `plugin_opt_password_init_file ${pwFile}`,
  ]);
  try {
    assert.match(broker.log(), /Dynamic security plugin config not found, generating a default config\./);
    assert.match(broker.log(), new RegExp(`  Using admin password from file '${pwFile}'`));
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      clients: { username: string }[];
      anonymousGroup: string;
    };
    assert.deepEqual(
      doc.clients.map((c) => c.username),
      ['admin'],
    );
    assert.equal(doc.anonymousGroup, 'unauthenticated');
    // The admin (super-admin role: $CONTROL/#) can drive the API with the password from the file.
    const { code, c } = await connack(broker.port, {
      username: 'admin',
      password: 'initial-secret-1',
      clientId: 'a',
    });
    assert.equal(code, 0);
    c.disconnect();
    assert.match(
      await command(broker.port, [{ command: 'listRoles' }], 'initial-secret-1'),
      /"totalCount":7/,
    );
  } finally {
    await broker.stop();
  }
});
