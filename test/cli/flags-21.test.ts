// Mosquitto 2.1's broker flags -q / --quiet and --test-config (Debian ships 2.0.11, which has neither: these
// follow the 2.1 manual, mosquitto(8)).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildConfig, type CliArgs, CliArgsError, parseArgs } from '../../src/cli/args.js';
import { run } from '../auth/tools.js';
import { CULEX_BIN, tempDir } from '../helpers/processes.js';

function args(argv: string[]): CliArgs {
  const parsed = parseArgs(argv);
  assert.ok(!('help' in parsed));
  return parsed;
}

test('2.1 manual: -q / --quiet disables all logging, overriding the file and --verbose', () => {
  const dir = tempDir();
  const conf = join(dir, 'q.conf');
  writeFileSync(conf, 'log_type all\nlistener 1883 127.0.0.1\n');
  assert.equal(args(['-q']).quiet, true);
  assert.equal(args(['--quiet']).quiet, true);
  assert.deepEqual([...buildConfig(args(['-c', conf, '-q'])).log.types], ['none']);
  assert.deepEqual([...buildConfig(args(['-c', conf, '-v', '-q'])).log.types], ['none']);
  assert.deepEqual([...buildConfig(args(['-c', conf, '-q', '-v'])).log.types], ['none']);
  assert.deepEqual([...buildConfig(args(['-c', conf, '-v'])).log.types], ['all']);
});

test('2.1 manual: --test-config exits 0 for a valid file and non-zero without -c or for a bad file', async () => {
  const dir = tempDir();
  const good = join(dir, 'good.conf');
  const bad = join(dir, 'bad.conf');
  writeFileSync(good, 'listener 1883 127.0.0.1\nallow_anonymous true\n');
  writeFileSync(bad, 'listener 1883 127.0.0.1\nenable_proxy_protocol 7\n');
  assert.throws(() => parseArgs(['--test-config']), CliArgsError);
  assert.equal((await run(process.execPath, [CULEX_BIN, '-c', good, '--test-config'])).status, 0);
  const none = await run(process.execPath, [CULEX_BIN, '--test-config']);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /--test-config needs a configuration file/);
  const refused = await run(process.execPath, [CULEX_BIN, '-c', bad, '--test-config']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /enable_proxy_protocol must be 1 or 2/);
});
