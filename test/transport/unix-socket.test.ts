// Unix domain socket listeners (`listener 0 /path/to/socket`) driven by mosquitto_pub / mosquitto_sub --unix.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker } from '../../src/index.js';
import { tempDir } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { runTool } from './clients.js';

const skip = requireTool('mosquitto_pub', 'mosquitto_sub');

test('Unix socket listener: mosquitto_sub --unix receives what mosquitto_pub --unix sends', {
  skip,
}, async () => {
  const path = join(tempDir('culex-unix-'), 'culex.sock');
  const broker = new Broker({ options: { connectionMessages: false } });
  try {
    const [l] = await broker.listen([{ port: 0, unixSocketPath: path }]);
    assert.equal(l?.port, 0);
    assert.match(l!.description, /unix listen socket on path/);
    const sub = runTool('mosquitto_sub', ['--unix', path, '-t', 'unix/#', '-C', '1', '-W', '5', '-v']);
    await new Promise((r) => setTimeout(r, 400));
    const pub = await runTool('mosquitto_pub', [
      '--unix',
      path,
      '-t',
      'unix/t',
      '-m',
      'via socket file',
      '-q',
      '1',
    ]);
    assert.equal(pub.status, 0, pub.stderr);
    assert.equal((await sub).stdout.trim(), 'unix/t via socket file');
  } finally {
    await broker.stop();
  }
  assert.equal(existsSync(path), false, 'the socket file is removed on stop');
});

test('Unix socket listener: a stale socket file from a previous run is replaced, a regular file is not', {
  skip: false,
}, async () => {
  const dir = tempDir('culex-unix-');
  const path = join(dir, 'stale.sock');
  // Leave a socket file behind the way a killed process does: bind, then exit without unlinking.
  const child = spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  assert.equal(child.signal, 'SIGKILL');
  assert.ok(existsSync(path));
  const broker = new Broker({ options: { connectionMessages: false } });
  try {
    await broker.listen([{ port: 0, unixSocketPath: path }]);
    const regular = join(dir, 'regular');
    writeFileSync(regular, 'data');
    await assert.rejects(broker.listen([{ port: 0, unixSocketPath: regular }]));
  } finally {
    await broker.stop();
  }
});
