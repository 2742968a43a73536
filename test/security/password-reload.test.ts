// A password file made by Debian's mosquitto_passwd, used by the culex CLI through real clients; SIGHUP
// reloads it without dropping connected clients, and a failed reload keeps the previous configuration.

import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { connectMqtt, roundTrip, runTool } from '../transport/clients.js';
import { startCli } from './cli-broker.js';

const skip = requireTool('mosquitto_passwd');

test('mosquitto_passwd file: right password in, wrong password and anonymous out; SIGHUP reloads it', {
  skip,
  timeout: 60_000,
}, async () => {
  const dir = tempDir('culex-sec-');
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  assert.equal((await runTool('mosquitto_passwd', ['-b', passwd, 'alice', 'secret'])).status, 0);
  const broker = await startCli(dir, ['allow_anonymous false', `password_file ${passwd}`]);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  try {
    const alice = await connectMqtt(url, { username: 'alice', password: 'secret', clientId: 'alice-1' });
    await assert.rejects(
      connectMqtt(url, { username: 'alice', password: 'wrong' }),
      /Bad username or password|Not authorized/i,
    );
    await assert.rejects(connectMqtt(url, {}), /Not authorized/i);
    await assert.rejects(connectMqtt(url, { username: 'bob', password: 'pw2' }));

    // New file content: bob added, alice removed. Alice's live connection must survive the reload.
    assert.equal((await runTool('mosquitto_passwd', ['-b', passwd, 'bob', 'pw2'])).status, 0);
    assert.equal((await runTool('mosquitto_passwd', ['-D', passwd, 'alice'])).status, 0);
    assert.match(await broker.reload(), /Config reloaded\./);
    assert.equal(await roundTrip(alice, 'still/here', 'yes'), 'yes');
    const bob = await connectMqtt(url, { username: 'bob', password: 'pw2' });
    await assert.rejects(connectMqtt(url, { username: 'alice', password: 'secret' }));

    // A reload that cannot read its files keeps what is running.
    appendFileSync(broker.confPath, `acl_file ${join(dir, 'missing.acl')}\n`);
    const outcome = await broker.reload();
    assert.match(outcome, /reload failed, keeping the previous configuration: .*missing\.acl/);
    const bob2 = await connectMqtt(url, { username: 'bob', password: 'pw2' });
    assert.equal(await roundTrip(bob2, 'after/failed/reload', 'ok'), 'ok');
    await Promise.all([alice.endAsync(), bob.endAsync(), bob2.endAsync()]);
  } finally {
    await broker.stop();
  }
});
